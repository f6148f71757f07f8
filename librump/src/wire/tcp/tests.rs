//! Unit tests of the TCP view, options, Repr and checksum, and the fuzz smoke test.

use std::time::Instant;

use super::*;
use crate::kern::mbuf::{MbufChain, MbufPool};
use crate::wire::fuzz::{smoke, XorShift64, SEED_DST, SEED_SRC};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);

fn base() -> TcpRepr {
    TcpRepr {
        src_port: 5001,
        dst_port: 80,
        flags: TcpFlags::empty(),
        seq_number: 0x0102_0304,
        ack_number: Some(0x0a0b_0c0d),
        window_len: 0x4000,
        urgent_at: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; TCP_REPR_SACK_BLOCKS],
        timestamp: None,
        payload_len: 0,
    }
}

fn segment(mut repr: TcpRepr, payload: &[u8]) -> Vec<u8> {
    repr.payload_len = payload.len();
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), SRC, DST, |p| {
        p.copy_from_slice(payload)
    });
    buf
}

fn parse(buf: &[u8]) -> Result<TcpRepr, WireError> {
    TcpRepr::parse(
        &TcpPacket::new_checked(buf)?,
        SRC,
        DST,
        ChecksumCheck::Verify,
    )
}

/// A segment of `base()` whose options area is `raw` (NOP-padded), checksum filled.
fn with_raw_options(raw: &[u8]) -> Vec<u8> {
    let header_len = HEADER_LEN + raw.len().next_multiple_of(4);
    let mut buf = vec![TCPOPT_NOP; header_len];
    let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
    base().emit_header(&mut packet);
    packet.set_header_len(header_len);
    packet.options_mut()[..raw.len()].copy_from_slice(raw);
    packet.fill_checksum(SRC, DST);
    buf
}

fn options_of(raw: &[u8]) -> Vec<Result<TcpOption<'_>, WireError>> {
    TcpOptionsIter::new(raw).collect()
}

#[test]
fn flags_have_netbsd_values_and_print() {
    let all = [
        (TcpFlags::FIN, 0x01),
        (TcpFlags::SYN, 0x02),
        (TcpFlags::RST, 0x04),
        (TcpFlags::PSH, 0x08),
        (TcpFlags::ACK, 0x10),
        (TcpFlags::URG, 0x20),
        (TcpFlags::ECE, 0x40),
        (TcpFlags::CWR, 0x80),
    ];
    for (flag, bits) in all {
        assert_eq!(flag.bits(), bits);
        assert_eq!(TcpFlags::from_bits(bits), flag);
    }
    let synack = TcpFlags::SYN | TcpFlags::ACK;
    assert_eq!(format!("{synack:?}"), "SYN|ACK");
    assert_eq!(format!("{:?}", TcpFlags::empty()), "-");
    assert!(synack.contains(TcpFlags::SYN) && !synack.contains(TcpFlags::SYN | TcpFlags::FIN));
    assert!(synack.intersects(TcpFlags::SYN | TcpFlags::FIN));
    assert_eq!(synack & TcpFlags::ACK, TcpFlags::ACK);
    assert_eq!(synack.difference(TcpFlags::ACK), TcpFlags::SYN);
    let mut f = TcpFlags::empty();
    f |= TcpFlags::FIN;
    f.set(TcpFlags::PSH, true);
    f.set(TcpFlags::FIN, false);
    assert_eq!(f, TcpFlags::PSH);
    assert!(f.psh() && !f.fin() && !f.is_empty());
}

#[test]
fn contradictory_flags_parse_and_are_named() {
    for (flags, bad) in [
        (TcpFlags::SYN | TcpFlags::FIN, true),
        (TcpFlags::SYN | TcpFlags::RST, true),
        (
            TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST | TcpFlags::URG,
            true,
        ),
        (TcpFlags::SYN, false),
        (TcpFlags::FIN | TcpFlags::RST, false),
        (TcpFlags::empty(), false),
    ] {
        assert_eq!(flags.is_contradictory(), bad, "{flags:?}");
        let repr = TcpRepr {
            flags,
            ack_number: None,
            ..base()
        };
        let parsed = parse(&segment(repr, b"")).unwrap();
        assert_eq!(parsed.flags, flags);
    }
    // Every flags byte parses; ACK moves to ack_number.
    for bits in 0..=255u8 {
        let mut buf = segment(base(), b"x");
        let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
        packet.set_flags(TcpFlags::from_bits(bits));
        packet.fill_checksum(SRC, DST);
        let repr = parse(&buf).unwrap();
        assert_eq!(repr.wire_flags().bits(), bits);
        assert_eq!(repr.ack_number.is_some(), bits & 0x10 != 0);
        assert!(!repr.flags.ack());
    }
}

#[test]
fn header_layout_matches_rfc_9293() {
    let repr = TcpRepr {
        flags: TcpFlags::PSH | TcpFlags::URG,
        urgent_at: 0x1234,
        ..base()
    };
    let buf = segment(repr, b"abc");
    assert_eq!(
        &buf[..20],
        &[
            0x13, 0x89, 0x00, 0x50, // ports 5001, 80
            0x01, 0x02, 0x03, 0x04, // seq
            0x0a, 0x0b, 0x0c, 0x0d, // ack
            0x50, 0x38, // data offset 5, ACK|PSH|URG
            0x40, 0x00, // window
            buf[16], buf[17], // checksum
            0x12, 0x34, // urgent pointer
        ]
    );
    assert_eq!(&buf[20..], b"abc");
    let packet = TcpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.src_port(), 5001);
    assert_eq!(packet.dst_port(), 80);
    assert_eq!(packet.seq_number(), 0x0102_0304);
    assert_eq!(packet.ack_number(), 0x0a0b_0c0d);
    assert_eq!((packet.data_offset(), packet.header_len()), (5, 20));
    assert!(packet.ack() && packet.psh() && packet.urg());
    assert!(!(packet.fin() || packet.syn() || packet.rst() || packet.ece() || packet.cwr()));
    assert_eq!(packet.window_len(), 0x4000);
    assert_eq!(packet.urgent_at(), 0x1234);
    assert_eq!(packet.segment_len(), 3);
    assert!(packet.options().is_empty());
    assert_eq!(packet.payload(), b"abc");
    assert!(packet.verify_checksum(SRC, DST));
}

#[test]
fn setters_write_their_fields_only() {
    let mut buf = [0u8; 24];
    let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
    packet.set_header_len(24);
    packet.set_src_port(0xa1a2);
    packet.set_dst_port(0xb1b2);
    packet.set_seq_number(0xc1c2_c3c4);
    packet.set_ack_number(0xd1d2_d3d4);
    packet.set_window_len(0xe1e2);
    packet.set_checksum(0xf1f2);
    packet.set_urgent_at(0x9192);
    packet.set_syn(true);
    packet.set_fin(true);
    packet.set_rst(true);
    packet.set_psh(true);
    packet.set_ack(true);
    packet.set_urg(true);
    packet.set_ece(true);
    packet.set_cwr(true);
    packet.set_rst(false);
    packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
    assert!(packet.payload_mut().is_empty());
    assert_eq!(
        buf,
        [
            0xa1, 0xa2, 0xb1, 0xb2, 0xc1, 0xc2, 0xc3, 0xc4, 0xd1, 0xd2, 0xd3, 0xd4, 0x60, 0xfb,
            0xe1, 0xe2, 0xf1, 0xf2, 0x91, 0x92, 1, 1, 1, 0
        ]
    );
    // set_header_len clears the reserved bits (and the old NS bit).
    let mut buf = [0xffu8; 20];
    TcpPacket::new_unchecked(&mut buf[..]).set_header_len(20);
    assert_eq!(buf[12], 0x50);
}

#[test]
fn short_buffers_are_truncated() {
    let buf = segment(base(), b"payload");
    for len in 0..HEADER_LEN {
        assert_eq!(
            TcpPacket::new_checked(&buf[..len]).unwrap_err(),
            WireError::Truncated,
            "length {len}"
        );
        // An unchecked view of a short buffer never panics in its clamped getters.
        let unchecked = TcpPacket::new_unchecked(&buf[..len]);
        assert!(unchecked.options().is_empty());
        assert!(unchecked.payload().is_empty());
        assert!(!unchecked.verify_checksum(SRC, DST));
    }
}

#[test]
fn bad_data_offsets_are_rejected() {
    let buf = segment(base(), b"0123456789");
    for words in 0..5u8 {
        let mut bad = buf.clone();
        bad[12] = words << 4;
        assert_eq!(parse(&bad), Err(WireError::BadLength), "offset {words}");
        let unchecked = TcpPacket::new_unchecked(&bad[..]);
        assert!(unchecked.options().is_empty());
        assert_eq!(unchecked.payload(), b"0123456789");
    }
    // Offsets up to the buffer's 30 bytes are fine; past it they are not.
    for words in 5..=15u8 {
        let mut bad = buf.clone();
        bad[12] = words << 4;
        let result = TcpPacket::new_checked(&bad[..]);
        if usize::from(words) * 4 <= bad.len() {
            assert!(result.is_ok(), "offset {words}");
        } else {
            assert_eq!(result.unwrap_err(), WireError::BadLength, "offset {words}");
            let unchecked = TcpPacket::new_unchecked(&bad[..]);
            assert_eq!(unchecked.options(), &bad[20..]);
            assert!(unchecked.payload().is_empty());
        }
    }
    // The longest header: 40 option bytes, no payload.
    let raw = [TCPOPT_NOP; MAX_OPTIONS_LEN];
    let buf = with_raw_options(&raw);
    assert_eq!(buf.len(), MAX_HEADER_LEN);
    let packet = TcpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.options().len(), 40);
    assert!(packet.payload().is_empty());
    assert!(parse(&buf).is_ok());
}

#[test]
fn checksums() {
    let good = segment(base(), b"checksum me");
    assert!(parse(&good).is_ok());
    for at in [0, 5, 13, 17, 20, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        assert_eq!(parse(&bad), Err(WireError::BadChecksum), "byte {at}");
        let packet = TcpPacket::new_checked(&bad[..]).unwrap();
        assert!(TcpRepr::parse(&packet, SRC, DST, ChecksumCheck::Skip).is_ok());
    }
    // The pseudo-header counts: addresses and length.
    let packet = TcpPacket::new_checked(&good[..]).unwrap();
    assert!(!packet.verify_checksum(SRC, Ipv4Addr::new(10, 0, 2, 4)));
    let mut longer = good.clone();
    longer.extend_from_slice(&[0, 0]);
    assert_eq!(parse(&longer), Err(WireError::BadChecksum));
    // Zero is an ordinary checksum: find a payload whose checksum is zero.
    let probe = segment(base(), &[0, 0]);
    let c = TcpPacket::new_checked(&probe[..]).unwrap().checksum();
    let zero = segment(base(), &c.to_be_bytes());
    assert_eq!(TcpPacket::new_checked(&zero[..]).unwrap().checksum(), 0);
    assert!(parse(&zero).is_ok());
}

#[test]
fn checksum_over_split_slices_is_flat() {
    let mut rng = XorShift64::new(0x7c9);
    for len in [0usize, 1, 2, 3, 7, 8, 9, 100, 1460, 1461] {
        let payload: Vec<u8> = (0..len).map(|_| rng.next_u8()).collect();
        let repr = TcpRepr {
            timestamp: Some((7, 9)),
            ..base()
        };
        let buf = segment(repr, &payload);
        let flat = TcpPacket::new_checked(&buf[..]).unwrap().checksum();
        let mut zeroed = buf.clone();
        zeroed[16..18].fill(0);
        for cut in 0..=zeroed.len() {
            let (a, b) = zeroed.split_at(cut);
            assert_eq!(checksum_slices(SRC, DST, [a, b]), flat, "cut {cut}");
            assert_eq!(checksum_slices(SRC, DST, [&buf[..cut], &buf[cut..]]), 0);
        }
        for _ in 0..50 {
            let mut cuts = [rng.below(buf.len() + 1), rng.below(buf.len() + 1)];
            cuts.sort_unstable();
            let slices = [
                &zeroed[..cuts[0]],
                &zeroed[cuts[0]..cuts[1]],
                &zeroed[cuts[1]..],
            ];
            assert_eq!(checksum_slices(SRC, DST, slices), flat);
        }
    }
}

#[test]
fn emit_header_with_payload_in_an_mbuf_chain() {
    let pool = MbufPool::new(16);
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    // A chain of odd-length mbufs, as sosend and m_split leave them.
    let mut chain = MbufChain::new();
    for piece in [
        &payload[..1],
        &payload[1..998],
        &payload[998..2047],
        &payload[2047..],
    ] {
        let mut m = pool.get().unwrap();
        assert_eq!(m.append(piece), piece.len());
        chain.push(m);
    }
    let repr = TcpRepr {
        flags: TcpFlags::PSH,
        timestamp: Some((100, 200)),
        sack_ranges: [Some((1, 2)), None, None],
        payload_len: chain.len(),
        ..base()
    };
    let mut header = vec![0u8; repr.header_len()];
    repr.emit_header(&mut TcpPacket::new_unchecked(&mut header[..]));
    let sum = checksum_slices(
        SRC,
        DST,
        std::iter::once(&header[..]).chain(chain.iter_slices()),
    );
    TcpPacket::new_unchecked(&mut header[..]).set_checksum(sum);
    let mut flat = header.clone();
    flat.extend_from_slice(&chain.to_vec());
    assert_eq!(flat, segment(repr, &payload));
    assert_eq!(parse(&flat), Ok(repr));
}

/// Every combination of options, SACK block counts and a few flag sets round-trips.
#[test]
fn round_trip_every_option_combination() {
    let blocks = [
        Some((0xffff_ff00, 0x0000_0100)),
        Some((1000, 2000)),
        Some((3000, 4000)),
    ];
    for mask in 0..16u32 {
        for n in 0..=TCP_REPR_SACK_BLOCKS {
            for flags in [
                TcpFlags::SYN,
                TcpFlags::empty(),
                TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ECE | TcpFlags::CWR,
            ] {
                for ack in [None, Some(0xdead_beef)] {
                    let mut sack_ranges = [None; TCP_REPR_SACK_BLOCKS];
                    sack_ranges[..n].copy_from_slice(&blocks[..n]);
                    let repr = TcpRepr {
                        flags,
                        ack_number: ack,
                        max_seg_size: (mask & 1 != 0).then_some(1460),
                        window_scale: (mask & 2 != 0).then_some(14),
                        sack_permitted: mask & 4 != 0,
                        timestamp: (mask & 8 != 0).then_some((0x1111_2222, 0x3333_4444)),
                        sack_ranges,
                        ..base()
                    };
                    let buf = segment(repr, b"data");
                    let parsed = parse(&buf).unwrap();
                    assert_eq!(parsed.header_len(), repr.header_len());
                    assert_eq!(repr.header_len() % 4, 0);
                    assert!(repr.header_len() <= MAX_HEADER_LEN);
                    assert_eq!(repr.buffer_len() + 4, buf.len());
                    assert_eq!(parsed.payload_len, 4);
                    TcpOptionsIter::check(TcpPacket::new_checked(&buf[..]).unwrap().options())
                        .unwrap();
                    // SACK blocks are kept while the packed layout fits in 40 bytes.
                    let bits = |bit: u32, len: usize| if mask & bit != 0 { len } else { 0 };
                    let others = bits(1, 4) + bits(2, 3) + bits(4, 2) + bits(8, 10);
                    let kept = (0..=n)
                        .rev()
                        .find(|&k| {
                            let sack = if k > 0 { 2 + 8 * k } else { 0 };
                            (others + sack).next_multiple_of(4) <= MAX_OPTIONS_LEN
                        })
                        .unwrap_or(0);
                    if mask == 8 {
                        assert_eq!(kept, n, "three blocks fit beside timestamps");
                    }
                    let mut expect = repr;
                    expect.sack_ranges = [None; TCP_REPR_SACK_BLOCKS];
                    expect.sack_ranges[..kept].copy_from_slice(&blocks[..kept]);
                    expect.payload_len = 4;
                    assert_eq!(parsed, expect, "mask {mask} sack {n}");
                }
            }
        }
    }
}

#[test]
fn options_are_laid_out_the_bsd_way() {
    let syn = TcpRepr {
        flags: TcpFlags::SYN,
        ack_number: None,
        max_seg_size: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamp: Some((0x01020304, 0)),
        ..base()
    };
    let buf = segment(syn, b"");
    assert_eq!(buf.len(), 44);
    assert_eq!(
        &buf[20..],
        &[
            2, 4, 0x05, 0xb4, // MSS 1460
            1, 3, 3, 7, // NOP, window scale 7
            1, 1, 4, 2, // NOP NOP, SACK permitted
            1, 1, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, // NOP NOP, timestamps
        ]
    );
    // Timestamps and three SACK blocks: exactly 40 option bytes, all aligned.
    let ack = TcpRepr {
        timestamp: Some((5, 6)),
        sack_ranges: [Some((10, 20)), Some((30, 40)), Some((50, 60))],
        ..base()
    };
    let buf = segment(ack, b"");
    assert_eq!(buf.len(), MAX_HEADER_LEN);
    assert_eq!(&buf[20..24], &[1, 1, 8, 10]);
    assert_eq!(&buf[32..36], &[1, 1, 5, 26]);
    assert_eq!(&buf[36..40], &10u32.to_be_bytes());
    assert_eq!(parse(&buf), Ok(ack));
}

#[test]
fn options_pack_when_the_aligned_layout_does_not_fit() {
    let all = TcpRepr {
        max_seg_size: Some(536),
        window_scale: Some(0),
        sack_permitted: true,
        timestamp: Some((1, 2)),
        sack_ranges: [Some((10, 20)), Some((30, 40)), Some((50, 60))],
        ..base()
    };
    // Aligned would take 52 bytes; packed with two blocks takes 37, padded to 40.
    let buf = segment(all, b"");
    assert_eq!(buf.len(), MAX_HEADER_LEN);
    assert_eq!(&buf[20..27], &[2, 4, 2, 24, 3, 3, 0]);
    assert_eq!(&buf[57..], &[TCPOPT_NOP; 3]);
    let parsed = parse(&buf).unwrap();
    assert_eq!(
        parsed.sack_ranges,
        [Some((10, 20)), Some((30, 40)), None],
        "the last block is left out"
    );
}

#[test]
fn parse_reads_linux_layout_and_sack_option_of_four_blocks() {
    let linux: [u8; 20] = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 7,
    ];
    let repr = parse(&with_raw_options(&linux)).unwrap();
    assert_eq!(repr.max_seg_size, Some(1460));
    assert!(repr.sack_permitted);
    assert_eq!(repr.timestamp, Some((7, 9)));
    assert_eq!(repr.window_scale, Some(7));
    // Four blocks (no timestamps): the Repr keeps the first three (the most recent).
    let mut raw = vec![1, 1, 5, 34];
    for i in 1..=4u32 {
        raw.extend_from_slice(&(i * 100).to_be_bytes());
        raw.extend_from_slice(&(i * 100 + 50).to_be_bytes());
    }
    let packet_buf = with_raw_options(&raw);
    let packet = TcpPacket::new_checked(&packet_buf[..]).unwrap();
    let options: Vec<_> = packet.options_iter().collect();
    assert_eq!(
        options[2],
        Ok(TcpOption::SackRange([
            Some((100, 150)),
            Some((200, 250)),
            Some((300, 350)),
            Some((400, 450))
        ]))
    );
    let repr = parse(&packet_buf).unwrap();
    assert_eq!(
        repr.sack_ranges,
        [Some((100, 150)), Some((200, 250)), Some((300, 350))]
    );
    // A later option of the same kind wins.
    let twice = [2, 4, 0, 100, 2, 4, 0, 200];
    assert_eq!(
        parse(&with_raw_options(&twice)).unwrap().max_seg_size,
        Some(200)
    );
}

#[test]
fn option_iterator_yields_every_kind() {
    let raw = [
        1, 2, 4, 0x05, 0xb4, 3, 3, 14, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0, 3, 0,
        0, 0, 4, 99, 3, 0xaa, 0, 0xee,
    ];
    assert_eq!(
        options_of(&raw),
        vec![
            Ok(TcpOption::NoOperation),
            Ok(TcpOption::MaxSegmentSize(1460)),
            Ok(TcpOption::WindowScale(14)),
            Ok(TcpOption::SackPermitted),
            Ok(TcpOption::TimeStamp { tsval: 1, tsecr: 2 }),
            Ok(TcpOption::SackRange([Some((3, 4)), None, None, None])),
            Ok(TcpOption::Unknown {
                kind: 99,
                data: &[0xaa]
            }),
            Ok(TcpOption::EndOfList),
        ],
        "the byte after EOL is padding, not read"
    );
    assert!(TcpOptionsIter::check(&raw).is_ok());
    assert!(options_of(&[]).is_empty());
}

#[test]
fn option_iterator_stops_at_lengths_it_cannot_follow() {
    for raw in [
        &[2u8][..],         // length byte missing
        &[99, 0, 1, 1][..], // length 0
        &[99, 1, 1, 1][..], // length 1
        &[99, 5, 1, 1][..], // runs past the end
        &[8, 10, 0, 0, 0, 1][..],
        &[5, 255][..],
    ] {
        let mut iter = TcpOptionsIter::new(raw);
        assert_eq!(iter.next(), Some(Err(WireError::BadOption)), "{raw:?}");
        assert_eq!(iter.offset(), 0);
        assert_eq!(iter.next(), None, "the walk stops: {raw:?}");
        assert_eq!(TcpOptionsIter::check(raw), Err(WireError::BadOption));
    }
    // After good options, the bad one is reported where it starts.
    let mut iter = TcpOptionsIter::new(&[1, 1, 2, 4, 1, 0, 99, 1]);
    assert_eq!(iter.by_ref().filter(Result::is_ok).count(), 3);
    assert_eq!(iter.offset(), 6);
}

#[test]
fn option_iterator_skips_known_options_of_the_wrong_length() {
    let wrong: [&[u8]; 12] = [
        &[2, 3, 0],                   // MSS, 3
        &[2, 5, 0, 0, 0],             // MSS, 5
        &[3, 2],                      // window scale, 2
        &[3, 4, 0, 0],                // window scale, 4
        &[4, 3, 0],                   // SACK permitted, 3
        &[8, 9, 0, 0, 0, 0, 0, 0, 0], // timestamps, 9
        &[8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[5, 2],                      // SACK, no blocks
        &[5, 9, 0, 0, 0, 0, 0, 0, 0], // SACK, 2 + 7
        &[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[5, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[
            5, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ], // five blocks
    ];
    for bad in wrong {
        let mut raw = bad.to_vec();
        raw.extend_from_slice(&[4, 2]);
        assert_eq!(
            options_of(&raw),
            vec![Err(WireError::BadOption), Ok(TcpOption::SackPermitted)],
            "{bad:?}"
        );
        assert_eq!(TcpOptionsIter::check(&raw), Err(WireError::BadOption));
    }
}

#[test]
fn parse_ignores_bad_options_as_tcp_dooptions_does() {
    // A wrong-length MSS is skipped; the timestamps after it are read.
    let raw = [2, 3, 0, 1, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6];
    let repr = parse(&with_raw_options(&raw)).unwrap();
    assert_eq!(repr.max_seg_size, None);
    assert_eq!(repr.timestamp, Some((5, 6)));
    // A length of zero ends the walk: what came before stays, nothing after is read.
    let raw = [3, 3, 2, 99, 0, 4, 2];
    let repr = parse(&with_raw_options(&raw)).unwrap();
    assert_eq!(repr.window_scale, Some(2));
    assert!(!repr.sack_permitted);
    // Options after EOL are padding.
    let raw = [0, 4, 2, 1];
    assert!(!parse(&with_raw_options(&raw)).unwrap().sack_permitted);
}

#[test]
fn options_emit_and_pad() {
    let all = [
        TcpOption::EndOfList,
        TcpOption::NoOperation,
        TcpOption::MaxSegmentSize(0xfff0),
        TcpOption::WindowScale(9),
        TcpOption::SackPermitted,
        TcpOption::SackRange([Some((1, 2)), Some((3, 4)), Some((5, 6)), Some((7, 8))]),
        TcpOption::TimeStamp {
            tsval: u32::MAX,
            tsecr: 0,
        },
        TcpOption::Unknown {
            kind: 254,
            data: &[0xf9, 0x89],
        },
        TcpOption::Unknown {
            kind: 30,
            data: &[],
        },
    ];
    for option in all {
        let mut buf = [0xccu8; 40];
        let n = option.emit(&mut buf);
        assert_eq!(n, option.buffer_len());
        assert_eq!(buf[0], option.kind());
        assert_eq!(buf[n], 0xcc, "nothing written past the option");
        assert_eq!(
            TcpOptionsIter::new(&buf[..n]).next(),
            Some(Ok(option)),
            "{option:?}"
        );
    }
    let list = [TcpOption::MaxSegmentSize(1460), TcpOption::WindowScale(2)];
    assert_eq!(options_len(&list), 8);
    let mut buf = [0xccu8; 9];
    assert_eq!(emit_options(&list, &mut buf), 8);
    assert_eq!(buf, [2, 4, 0x05, 0xb4, 3, 3, 2, TCPOPT_NOP, 0xcc]);
    assert_eq!(options_len(&[]), 0);
    assert_eq!(emit_options(&[], &mut buf), 0);
}

#[test]
fn segment_len_counts_syn_and_fin() {
    for (flags, payload, expect) in [
        (TcpFlags::SYN, 0, 1),
        (TcpFlags::SYN | TcpFlags::FIN, 0, 2),
        (TcpFlags::FIN, 10, 11),
        (TcpFlags::empty(), 10, 10),
        (TcpFlags::RST, 0, 0),
    ] {
        let repr = TcpRepr {
            flags,
            payload_len: payload,
            ..base()
        };
        assert_eq!(repr.segment_len(), expect);
        let buf = segment(repr, &vec![0; payload]);
        assert_eq!(
            TcpPacket::new_checked(&buf[..]).unwrap().segment_len(),
            expect
        );
    }
}

#[test]
fn urgent_pointer_only_with_urg() {
    let mut buf = segment(base(), b"x");
    let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
    packet.set_urgent_at(77);
    packet.fill_checksum(SRC, DST);
    assert_eq!(parse(&buf).unwrap().urgent_at, 0);
    let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
    packet.set_urg(true);
    packet.fill_checksum(SRC, DST);
    assert_eq!(parse(&buf).unwrap().urgent_at, 77);
}

#[test]
#[should_panic(expected = "TCP header buffer too short")]
fn emit_header_into_a_short_buffer_panics() {
    let repr = TcpRepr {
        timestamp: Some((1, 1)),
        ..base()
    };
    let mut buf = [0u8; 24];
    repr.emit_header(&mut TcpPacket::new_unchecked(&mut buf[..]));
}

#[test]
fn seeds_are_valid() {
    let seeds = fuzz_seeds();
    assert!(seeds.len() >= 9);
    for seed in &seeds {
        let packet = TcpPacket::new_checked(&seed[..]).unwrap();
        TcpRepr::parse(&packet, SEED_SRC, SEED_DST, ChecksumCheck::Verify).unwrap();
        TcpOptionsIter::check(packet.options()).unwrap();
    }
    let syn = TcpPacket::new_checked(&seeds[0][..]).unwrap();
    assert!(syn.syn() && !syn.ack());
    let data = TcpRepr::parse(
        &TcpPacket::new_checked(&seeds[2][..]).unwrap(),
        SEED_SRC,
        SEED_DST,
        ChecksumCheck::Verify,
    )
    .unwrap();
    assert_eq!(data.sack_ranges.iter().flatten().count(), 3);
    assert!(data.timestamp.is_some());
}

#[test]
fn fuzz_smoke_tcp() {
    const ITERATIONS: usize = 300_000;
    let start = Instant::now();
    smoke(fuzz_target, &fuzz_seeds(), ITERATIONS, 0x7c97c9);
    eprintln!("tcp: {ITERATIONS} iterations in {:?}", start.elapsed());
}

#[test]
fn fuzz_smoke_tcp_options() {
    // The walker alone over arbitrary bytes: bounded, forward-moving, consistent.
    fn walk(options: &[u8]) {
        let mut iter = TcpOptionsIter::new(options);
        let mut last = 0;
        let mut steps = 0;
        while let Some(item) = iter.next() {
            steps += 1;
            assert!(steps <= options.len());
            assert!(iter.offset() >= last && iter.offset() <= options.len());
            last = iter.offset();
            if let Ok(option) = item {
                let mut buf = vec![0u8; option.buffer_len()];
                option.emit(&mut buf);
            }
        }
    }
    let seeds: Vec<Vec<u8>> = fuzz_seeds()
        .iter()
        .map(|s| TcpPacket::new_unchecked(&s[..]).options().to_vec())
        .filter(|o| !o.is_empty())
        .collect();
    smoke(walk, &seeds, 300_000, 0x0b7c);
}
