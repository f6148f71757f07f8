//! The TCP fuzz target and its seeds: what the `wire::fuzz` smoke harness and the
//! `cargo fuzz` targets feed to the TCP parser.

use super::{
    checksum_slices, TcpFlags, TcpOptionsIter, TcpPacket, TcpRepr, HEADER_LEN, MAX_HEADER_LEN,
    MAX_OPTIONS_LEN, TCPOPT_EOL, TCPOPT_NOP, TCP_REPR_SACK_BLOCKS,
};
use crate::wire::fuzz::{SEED_DST, SEED_SRC};
use crate::wire::ChecksumCheck;

/// Fuzz target: a segment from [`SEED_SRC`] to [`SEED_DST`], as tcp input sees it.
///
/// Besides not panicking it checks that every getter of a checked view is in bounds,
/// that the option walk stays inside the options and ends, that checksums over split
/// slices agree with the flat one, and that a parsed Repr emits (flat, or header plus
/// payload slices) and parses back to itself.
pub fn fuzz_target(data: &[u8]) {
    let (src, dst) = (SEED_SRC, SEED_DST);
    let Ok(packet) = TcpPacket::new_checked(data) else {
        return;
    };
    let header_len = packet.header_len();
    assert!((HEADER_LEN..=MAX_HEADER_LEN.min(data.len())).contains(&header_len));
    let options = packet.options();
    assert_eq!(options.len(), header_len - HEADER_LEN);
    assert_eq!(packet.payload().len(), data.len() - header_len);
    let _ = (packet.src_port(), packet.dst_port(), packet.seq_number());
    let _ = (packet.ack_number(), packet.flags(), packet.window_len());
    let _ = (packet.checksum(), packet.urgent_at(), packet.segment_len());
    let mut iter = packet.options_iter();
    let mut steps = 0;
    while let Some(item) = iter.next() {
        steps += 1;
        assert!(steps <= options.len(), "the option walk must move forward");
        assert!(iter.offset() <= options.len());
        if let Ok(option) = item {
            let mut buf = [0u8; MAX_OPTIONS_LEN];
            let n = option.emit(&mut buf);
            let again = TcpOptionsIter::new(&buf[..n]).next();
            assert_eq!(again, Some(Ok(option)), "an option emits as it parsed");
        }
    }
    let (a, rest) = data.split_at(data.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    assert_eq!(
        packet.verify_checksum(src, dst),
        checksum_slices(src, dst, [a, b, c]) == 0
    );
    let repr = match TcpRepr::parse(&packet, src, dst, ChecksumCheck::Verify) {
        Ok(repr) => repr,
        Err(_) => TcpRepr::parse(&packet, src, dst, ChecksumCheck::Skip)
            .expect("a checked view parses without checksum"),
    };
    assert_eq!(repr.payload_len, packet.payload().len());
    assert!(!repr.flags.ack());
    let len = repr.header_len();
    assert!(len % 4 == 0 && (HEADER_LEN..=MAX_HEADER_LEN).contains(&len));
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst, |p| {
        p.copy_from_slice(packet.payload())
    });
    let emitted = TcpPacket::new_checked(&out[..]).expect("emitted segment checks");
    TcpOptionsIter::check(emitted.options()).expect("emitted options are well-formed");
    assert_eq!(
        TcpRepr::parse(&emitted, src, dst, ChecksumCheck::Verify),
        Ok(repr)
    );
    let mut header = [0u8; MAX_HEADER_LEN];
    repr.emit_header(&mut TcpPacket::new_unchecked(&mut header[..len]));
    assert_eq!(
        checksum_slices(src, dst, [&header[..len], packet.payload()]),
        emitted.checksum()
    );
}

/// A segment from [`SEED_SRC`] to [`SEED_DST`]: `repr` (its `payload_len` is
/// overwritten) with `payload`, and with `raw_options` in place of its own options if
/// given (padded with NOPs to a multiple of 4).
fn seed_segment(mut repr: TcpRepr, raw_options: Option<&[u8]>, payload: &[u8]) -> Vec<u8> {
    repr.payload_len = payload.len();
    let Some(raw) = raw_options else {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut buf[..]),
            SEED_SRC,
            SEED_DST,
            |p| p.copy_from_slice(payload),
        );
        return buf;
    };
    let header_len = HEADER_LEN + raw.len().next_multiple_of(4);
    let mut buf = vec![TCPOPT_NOP; header_len + payload.len()];
    let bare = TcpRepr {
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; TCP_REPR_SACK_BLOCKS],
        timestamp: None,
        ..repr
    };
    let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
    bare.emit_header(&mut packet);
    packet.set_header_len(header_len);
    packet.options_mut()[..raw.len()].copy_from_slice(raw);
    packet.payload_mut().copy_from_slice(payload);
    packet.fill_checksum(SEED_SRC, SEED_DST);
    buf
}

/// Valid segments from [`SEED_SRC`] to [`SEED_DST`]: a SYN with every option, a
/// SYN-ACK, data with SACK blocks and timestamps, FIN, RST, RST-ACK, a SYN with Linux's
/// packed option layout, and urgent data with an unknown option.
pub fn fuzz_seeds() -> Vec<Vec<u8>> {
    let syn = TcpRepr {
        src_port: 49152,
        dst_port: 80,
        flags: TcpFlags::SYN,
        seq_number: 0xfffffff0,
        ack_number: None,
        window_len: 65535,
        urgent_at: 0,
        window_scale: Some(7),
        max_seg_size: Some(1460),
        sack_permitted: true,
        sack_ranges: [None; TCP_REPR_SACK_BLOCKS],
        timestamp: Some((1, 0)),
        payload_len: 0,
    };
    let syn_ack = TcpRepr {
        src_port: 80,
        dst_port: 49152,
        seq_number: 1000,
        ack_number: Some(0xfffffff1),
        window_scale: Some(3),
        timestamp: Some((500, 1)),
        ..syn
    };
    let established = TcpRepr {
        flags: TcpFlags::PSH,
        seq_number: 0xfffffff1,
        ack_number: Some(1001),
        window_len: 512,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        timestamp: Some((20, 510)),
        ..syn
    };
    let data_sack = TcpRepr {
        sack_ranges: [Some((3001, 4001)), Some((5001, 6001)), Some((7001, 7501))],
        ..established
    };
    let fin = TcpRepr {
        flags: TcpFlags::FIN,
        seq_number: 40,
        ..established
    };
    let rst = TcpRepr {
        flags: TcpFlags::RST,
        ack_number: None,
        window_len: 0,
        timestamp: None,
        ..established
    };
    let rst_ack = TcpRepr {
        ack_number: Some(1001),
        ..rst
    };
    let linux_syn: [u8; 20] = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let urgent = TcpRepr {
        flags: TcpFlags::URG | TcpFlags::PSH,
        urgent_at: 3,
        timestamp: None,
        ..established
    };
    let unknown_option = [30, 4, 0x10, 0x01, TCPOPT_NOP, TCPOPT_EOL];
    vec![
        seed_segment(syn, None, b""),
        seed_segment(syn_ack, None, b""),
        seed_segment(data_sack, None, b"GET / HTTP/1.0\r\n\r\n"),
        seed_segment(established, None, &[0x5a; 33]),
        seed_segment(fin, None, b""),
        seed_segment(rst, None, b""),
        seed_segment(rst_ack, None, b""),
        seed_segment(syn, Some(&linux_syn), b""),
        seed_segment(urgent, Some(&unknown_option), b"!!!"),
    ]
}
