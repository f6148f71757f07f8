//! Sequence-number arithmetic (NetBSD: netinet/tcp_seq.h SEQ_LT ... SEQ_MAX).
//!
//! Sequence numbers live on a circle of 2^32 (RFC 9293 section 3.4): `a` comes before
//! `b` when the signed 32-bit difference `a - b` is negative, that is when `b` lies less
//! than 2^31 ahead of `a`. The comparisons are therefore meaningful only between numbers
//! less than 2^31 apart, which TCP guarantees by keeping windows below 2^30 (RFC 7323
//! section 2.3, hence the window-scale limit of 14).
//!
//! At exactly 2^31 apart the answer is arbitrary and not antisymmetric: `seq_lt(a, b)`
//! and `seq_lt(b, a)` are both true, as in NetBSD. No valid comparison hits that case.
//!
//! The same arithmetic orders RFC 7323 timestamps (NetBSD: TSTMP_LT / TSTMP_GEQ).

/// The signed distance from `b` to `a` (`a - b` on the circle), in -2^31..2^31.
#[inline]
pub const fn seq_sub(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Whether `a` comes before `b` (SEQ_LT).
#[inline]
pub const fn seq_lt(a: u32, b: u32) -> bool {
    seq_sub(a, b) < 0
}

/// Whether `a` comes before or is `b` (SEQ_LEQ).
#[inline]
pub const fn seq_leq(a: u32, b: u32) -> bool {
    seq_sub(a, b) <= 0
}

/// Whether `a` comes after `b` (SEQ_GT).
#[inline]
pub const fn seq_gt(a: u32, b: u32) -> bool {
    seq_sub(a, b) > 0
}

/// Whether `a` comes after or is `b` (SEQ_GEQ).
#[inline]
pub const fn seq_geq(a: u32, b: u32) -> bool {
    seq_sub(a, b) >= 0
}

/// The earlier of `a` and `b` (SEQ_MIN).
#[inline]
pub const fn seq_min(a: u32, b: u32) -> u32 {
    if seq_lt(a, b) {
        a
    } else {
        b
    }
}

/// The later of `a` and `b` (SEQ_MAX).
#[inline]
pub const fn seq_max(a: u32, b: u32) -> u32 {
    if seq_gt(a, b) {
        a
    } else {
        b
    }
}

/// Whether `seq` lies in the half-open window `[lo, hi)`: at or after `lo` and before
/// `hi` (RFC 9293's `RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND`). Empty when `lo == hi`.
#[inline]
pub const fn seq_in_window(seq: u32, lo: u32, hi: u32) -> bool {
    seq_geq(seq, lo) && seq_lt(seq, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs (a, b) with a before b by `d`, placed around every interesting point of the
    /// circle.
    fn pairs() -> Vec<(u32, u32, u32)> {
        let bases = [0u32, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0, u32::MAX];
        let dists = [1u32, 2, 1000, 0x3fff_ffff, 0x7fff_ffff];
        let mut v = Vec::new();
        for &a in &bases {
            for &d in &dists {
                v.push((a, a.wrapping_add(d), d));
            }
        }
        v
    }

    #[test]
    fn order_across_the_wrap() {
        for (a, b, d) in pairs() {
            assert!(seq_lt(a, b), "{a:#x} < {b:#x}");
            assert!(seq_leq(a, b));
            assert!(!seq_gt(a, b));
            assert!(!seq_geq(a, b));
            assert!(seq_gt(b, a));
            assert!(seq_geq(b, a));
            assert!(!seq_lt(b, a));
            assert!(!seq_leq(b, a));
            assert_eq!(seq_sub(b, a), d as i32);
            assert_eq!(seq_sub(a, b), -(d as i32));
            assert_eq!(seq_min(a, b), a);
            assert_eq!(seq_min(b, a), a);
            assert_eq!(seq_max(a, b), b);
            assert_eq!(seq_max(b, a), b);
        }
        // The classic case: just before the wrap comes before just after it.
        assert!(seq_lt(0xffff_ffff, 0));
        assert!(seq_gt(5, 0xffff_fffb));
        assert_eq!(seq_max(0xffff_fff0, 0x10), 0x10);
    }

    #[test]
    fn equal_numbers() {
        for (a, _, _) in pairs() {
            assert!(!seq_lt(a, a) && !seq_gt(a, a));
            assert!(seq_leq(a, a) && seq_geq(a, a));
            assert_eq!((seq_min(a, a), seq_max(a, a), seq_sub(a, a)), (a, a, 0));
        }
    }

    #[test]
    fn half_the_circle_apart_is_ambiguous() {
        // Documented, as in NetBSD: each is "less" than the other.
        for a in [0u32, 7, 0x8000_0000, u32::MAX] {
            let b = a.wrapping_add(0x8000_0000);
            assert!(seq_lt(a, b) && seq_lt(b, a));
            assert_eq!(seq_sub(a, b), i32::MIN);
        }
    }

    #[test]
    fn windows_across_the_wrap() {
        let lo = 0xffff_ff00u32;
        let hi = lo.wrapping_add(0x200);
        assert!(seq_in_window(lo, lo, hi));
        assert!(seq_in_window(0xffff_ffff, lo, hi));
        assert!(seq_in_window(0, lo, hi));
        assert!(seq_in_window(0xff, lo, hi));
        assert!(!seq_in_window(0x100, lo, hi));
        assert!(!seq_in_window(lo.wrapping_sub(1), lo, hi));
        assert!(!seq_in_window(lo, lo, lo), "an empty window holds nothing");
    }
}
