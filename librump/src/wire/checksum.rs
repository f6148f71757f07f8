//! The Internet checksum (RFC 1071), summed eight bytes at a time.
//!
//! The checksum is the one's-complement of the one's-complement sum of the data taken as
//! big-endian 16-bit words, an odd last byte padded with a zero on the right. RFC 1071
//! section 2 gives the two properties this file leans on:
//!
//! - **Word-size independence** (2(C)): the one's-complement sum of 64-bit words, folded
//!   down to 16 bits with end-around carries, equals the sum of the 16-bit words. So
//!   [`data`] adds `u64::from_be_bytes` of each 8-byte chunk with end-around carry and
//!   folds once at the end, four times fewer additions than the byte-pair loop.
//! - **Byte-order independence** (2(B)): swapping the bytes of every word swaps the bytes
//!   of the sum. A slice that starts at an odd offset inside a packet has all its words
//!   shifted by one byte, so its contribution is its own sum byte-swapped. That is how
//!   [`data_slices`] sums an mbuf chain whose mbufs have odd lengths without copying.
//!
//! The functions return folded sums (not inverted) so partial sums can be [`combine`]d;
//! [`result`] inverts a final sum into the value stored in a header. Verifying a header
//! in place is `data(header) == 0xffff` (equivalently `result(..) == 0`), since a correct
//! checksum makes the whole sum negative zero.
//!
//! NetBSD: sys/netinet/in_cksum.c, cpu_in_cksum.c.

use std::net::Ipv4Addr;

use super::ipv4::IpProtocol;

/// Adds `b` to `a` in one's-complement arithmetic (end-around carry).
#[inline]
fn add_carry(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    // After an overflow `sum <= u64::MAX - 1`, so adding the carry cannot overflow again.
    sum + u64::from(carry)
}

/// Folds a 64-bit one's-complement sum to 16 bits.
#[inline]
fn fold(sum: u64) -> u16 {
    let mut sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    // The two 16-bit folds leave at most 0xffff.
    sum as u16
}

/// The unfolded 64-bit one's-complement sum of `data`, taken from its own offset 0.
#[inline]
fn sum64(data: &[u8]) -> u64 {
    // Two accumulators over 16-byte blocks break the carry chain so the adds overlap.
    let (mut a, mut b) = (0u64, 0u64);
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let (x, y) = block.split_at(8);
        a = add_carry(a, u64::from_be_bytes(to_word(x)));
        b = add_carry(b, u64::from_be_bytes(to_word(y)));
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for word in &mut words {
        a = add_carry(a, u64::from_be_bytes(to_word(word)));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        // The tail keeps its position in the word: an odd last byte is a high byte.
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        a = add_carry(a, u64::from_be_bytes(word));
    }
    add_carry(a, b)
}

/// An 8-byte slice as an array (callers pass `chunks_exact` pieces of 8 bytes).
#[inline]
fn to_word(chunk: &[u8]) -> [u8; 8] {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    word
}

/// The folded one's-complement sum of `data` (not inverted; see [`result`]).
pub fn data(data: &[u8]) -> u16 {
    fold(sum64(data))
}

/// The folded one's-complement sum of the slices of one packet, in order (an mbuf chain's
/// data). A slice that begins at an odd offset of the packet contributes its sum
/// byte-swapped (RFC 1071 2(B)), so slices of any length may follow each other.
pub fn data_slices<'a>(slices: impl IntoIterator<Item = &'a [u8]>) -> u16 {
    let mut acc = 0u64;
    let mut odd = false;
    for slice in slices {
        let sum = fold(sum64(slice));
        let sum = if odd { sum.swap_bytes() } else { sum };
        acc += u64::from(sum);
        odd ^= slice.len() % 2 == 1;
    }
    fold(acc)
}

/// The one's-complement sum of partial sums (each from [`data`], [`data_slices`] or
/// [`pseudo_header_v4`]).
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The checksum to store in a header: the one's complement of the folded sum `sum`.
pub fn result(sum: u16) -> u16 {
    !sum
}

/// The folded sum of the IPv4 pseudo-header of RFC 768 and RFC 9293 section 3.1: source,
/// destination, zero, protocol and the upper-layer length (`length`, header included).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, length: u16) -> u16 {
    let sum = u64::from(u32::from(src))
        + u64::from(u32::from(dst))
        + u64::from(u8::from(protocol))
        + u64::from(length);
    fold(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fuzz::XorShift64;

    /// The textbook loop: 16-bit words, an odd last byte as the high byte, fold at the end.
    fn naive(data: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        let mut pairs = data.chunks(2);
        for pair in &mut pairs {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            sum += hi | lo;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    fn random_bytes(rng: &mut XorShift64, len: usize) -> Vec<u8> {
        (0..len).map(|_| rng.next_u8()).collect()
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(result(data(&bytes)), 0x220d);
        assert_eq!(naive(&bytes), 0xddf2);
    }

    #[test]
    fn ipv4_header_example() {
        // A classic header: the stored checksum b861 makes the whole sum negative zero.
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(result(data(&header)), 0xb861);
        header[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(data(&header), 0xffff);
        assert_eq!(result(data(&header)), 0);
    }

    #[test]
    fn edge_values() {
        assert_eq!(data(&[]), 0);
        assert_eq!(data(&[0; 64]), 0);
        assert_eq!(data(&[0xff; 64]), 0xffff);
        assert_eq!(data(&[0xab]), 0xab00);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        // 64 KiB of 0xff: many carries, still negative zero.
        assert_eq!(data(&vec![0xff; 65536]), 0xffff);
        assert_eq!(data(&vec![0xff; 65535]), naive(&vec![0xff; 65535]));
    }

    #[test]
    fn matches_naive_every_length() {
        let mut rng = XorShift64::new(0x5eed_1071);
        for len in 0..2000 {
            let buf = random_bytes(&mut rng, len + 1);
            assert_eq!(data(&buf[..len]), naive(&buf[..len]), "length {len}");
            // The same bytes seen from an odd start.
            assert_eq!(data(&buf[1..]), naive(&buf[1..]), "length {len} from 1");
        }
    }

    #[test]
    fn slices_match_flat_sum() {
        let mut rng = XorShift64::new(0xc4a1_4ed5);
        for round in 0..2000 {
            let len = rng.below(1500);
            let buf = random_bytes(&mut rng, len);
            // Cut at random points, odd ones and empty pieces included.
            let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(len + 1)).collect();
            cuts.push(0);
            cuts.push(len);
            cuts.sort_unstable();
            let pieces: Vec<&[u8]> = cuts.windows(2).map(|w| &buf[w[0]..w[1]]).collect();
            assert_eq!(
                data_slices(pieces.iter().copied()),
                naive(&buf),
                "round {round}"
            );
        }
        // Single bytes, each at alternating parity.
        let buf = random_bytes(&mut rng, 101);
        assert_eq!(data_slices(buf.chunks(1)), naive(&buf));
        assert_eq!(data_slices(buf.chunks(3)), naive(&buf));
        assert_eq!(data_slices(std::iter::empty()), 0);
    }

    #[test]
    fn combine_and_pseudo_header() {
        let src = Ipv4Addr::new(10, 0, 1, 2);
        let dst = Ipv4Addr::new(192, 168, 200, 254);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&1234u16.to_be_bytes());
        assert_eq!(
            pseudo_header_v4(src, dst, IpProtocol::Udp, 1234),
            naive(&pseudo)
        );
        let bcast = Ipv4Addr::BROADCAST;
        let mut all_ones = [0xff; 12];
        all_ones[8] = 0;
        assert_eq!(
            pseudo_header_v4(bcast, bcast, IpProtocol::Unknown(255), 0xffff),
            naive(&all_ones)
        );

        let mut rng = XorShift64::new(7);
        let a = random_bytes(&mut rng, 40);
        let b = random_bytes(&mut rng, 33);
        let whole: Vec<u8> = pseudo.iter().chain(&a).chain(&b).copied().collect();
        // Partial sums combine when each part starts at an even offset.
        assert_eq!(
            combine(&[naive(&pseudo), data(&a), data(&b)]),
            naive(&whole)
        );
        assert_eq!(combine(&[]), 0);
        assert_eq!(combine(&[0xffff, 0xffff]), 0xffff);
        assert_eq!(combine(&[0x8000, 0x8000]), 0x0001);
    }
}
