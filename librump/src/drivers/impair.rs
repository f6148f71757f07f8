//! Receive-side link impairment shared by the drivers: the `RUMP_NET` interface options
//! `loss`, `dup`, `reorder`, `corrupt`, `delay` and `seed` ([`IfOptions`]).
//!
//! A driver keeps one [`Impairment`] per interface and asks it, for every frame the
//! interface receives, what to do with it ([`Impairment::decide`]). The decision is
//! applied in this order:
//! - loss: the frame is dropped;
//! - corruption: the receiver gets a copy with one bit flipped at a random byte past the
//!   14-byte Ethernet header, so the frame still reaches its protocol and the protocol's
//!   checksum has to catch it ([`copy_frame`] makes the copy);
//! - duplication: the frame is delivered twice;
//! - reordering: the frame is held back 1 to [`REORDER_MAX_TICKS`] ticks beyond its
//!   delay, so frames sent after it overtake it (the netisr delivers delayed frames in
//!   `not_before` order);
//! - delay: the frame may be processed only `delay_ms` after it arrived.
//!
//! # Determinism
//!
//! Each impairment draws from its own xorshift64, seeded from the options' `seed`
//! through splitmix64, and every frame consumes exactly five draws whatever the
//! probabilities. The decisions therefore depend only on the options and on how many
//! frames were decided: the same seed gives the same impairment, and changing one
//! probability does not shift another impairment's pattern. [`Impairment::reset`]
//! restarts the sequence from the new seed.

use std::time::Duration;

use crate::config::IfOptions;
use crate::kern::kern_clock::duration_to_ticks;
use crate::kern::mbuf::{MbufChain, MbufPool, MAX_HDR};

/// Length of the Ethernet header, which corruption leaves intact (ETHER_HDR_LEN).
pub const ETHER_HDR_LEN: usize = 14;

/// The most ticks a reordered frame is held back beyond its delay.
pub const REORDER_MAX_TICKS: u64 = 4;

/// Marsaglia's xorshift64: deterministic, cheap and good enough to pick impairments.
#[derive(Clone, Debug)]
struct XorShift64(u64);

impl XorShift64 {
    /// A generator from a seed, mixed with splitmix64 so that small seeds (0, 1, 2)
    /// give unrelated, nonzero states.
    fn seeded(seed: u64) -> Self {
        let z = splitmix64(seed);
        // Zero is xorshift's one fixed point.
        XorShift64(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A uniform number in `[0, 1)`, from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// One round of splitmix64 (Steele, Lea, Flood): a good 64-bit mixer, also used by the
/// drivers to turn random bytes and counters into identifiers.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What to do with one received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Drop it.
    pub drop: bool,
    /// Byte offset and bit mask to flip in the delivered copy.
    pub corrupt_at: Option<(usize, u8)>,
    /// Deliver it twice.
    pub duplicate: bool,
    /// Ticks held back for reordering (0: not reordered).
    pub reorder_ticks: u64,
    /// Ticks of link delay.
    pub delay_ticks: u64,
}

impl Decision {
    /// How many times the frame is delivered: 0, 1 or 2.
    pub fn copies(&self) -> usize {
        match (self.drop, self.duplicate) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        }
    }

    /// Ticks the frame waits before the stack may process it (delay plus reordering).
    pub fn extra_delay_ticks(&self) -> u64 {
        self.delay_ticks + self.reorder_ticks
    }
}

/// Counters of the impairment decisions (what the options did to received frames).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpairStats {
    /// Frames dropped by the loss impairment.
    pub lost: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames held back so later ones overtake them.
    pub reordered: u64,
    /// Frames delivered with a bit flipped.
    pub corrupted: u64,
    /// Frames delivered with a link delay.
    pub delayed: u64,
}

/// The receive impairment of one interface: its options, its random sequence and its
/// counters.
#[derive(Clone, Debug)]
pub struct Impairment {
    opts: IfOptions,
    rng: XorShift64,
    stats: ImpairStats,
}

impl Impairment {
    /// The impairment `opts` describes, its sequence seeded from `opts.seed`.
    pub fn new(opts: IfOptions) -> Self {
        Impairment {
            rng: XorShift64::seeded(opts.seed),
            opts,
            stats: ImpairStats::default(),
        }
    }

    /// The options.
    pub fn opts(&self) -> &IfOptions {
        &self.opts
    }

    /// The counters.
    pub fn stats(&self) -> ImpairStats {
        self.stats
    }

    /// Change the options and restart the sequence from `opts.seed`; the counters stay.
    pub fn reset(&mut self, opts: IfOptions) {
        self.rng = XorShift64::seeded(opts.seed);
        self.opts = opts;
    }

    /// Decide the fate of a received frame of `len` bytes and count it: always five
    /// draws (see the module doc). A frame with nothing past the Ethernet header is
    /// never corrupted; a dropped frame counts only as lost.
    pub fn decide(&mut self, len: usize) -> Decision {
        let opts = &self.opts;
        let rng = &mut self.rng;
        let u_loss = rng.unit();
        let u_corrupt = rng.unit();
        let u_dup = rng.unit();
        let u_reorder = rng.unit();
        let aux = rng.next();
        let corrupt_at = (u_corrupt < opts.corrupt && len > ETHER_HDR_LEN).then(|| {
            let span = (len - ETHER_HDR_LEN) as u64;
            let off = ETHER_HDR_LEN + ((aux & 0xffff_ffff) % span) as usize;
            (off, 1u8 << ((aux >> 32) & 7))
        });
        let reorder_ticks = if u_reorder < opts.reorder {
            1 + (aux >> 40) % REORDER_MAX_TICKS
        } else {
            0
        };
        let d = Decision {
            drop: u_loss < opts.loss,
            corrupt_at,
            duplicate: u_dup < opts.dup,
            reorder_ticks,
            delay_ticks: duration_to_ticks(Duration::from_millis(opts.delay_ms)),
        };
        let st = &mut self.stats;
        if d.drop {
            st.lost += 1;
        } else {
            st.corrupted += u64::from(d.corrupt_at.is_some());
            st.duplicated += u64::from(d.duplicate);
            st.reordered += u64::from(d.reorder_ticks > 0);
            st.delayed += u64::from(d.delay_ticks > 0);
        }
        d
    }
}

/// A copy of a frame from `pool` with the default headroom, with one bit flipped if
/// `corrupt` says so; `None` when the pool is out of clusters.
pub fn copy_frame(pool: &MbufPool, src: &[u8], corrupt: Option<(usize, u8)>) -> Option<MbufChain> {
    match corrupt {
        Some((off, mask)) if off < src.len() => {
            let mut c = MbufChain::from_slice(pool, &src[..off], MAX_HDR).ok()?;
            c.append_slice(pool, &[src[off] ^ mask]).ok()?;
            c.append_slice(pool, &src[off + 1..]).ok()?;
            Some(c)
        }
        _ => MbufChain::from_slice(pool, src, MAX_HDR).ok(),
    }
}

/// What handing one received frame to the kernel did, for a driver's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Copies queued (a duplicate makes two, a loss none).
    pub queued: u64,
    /// Copies the kernel's input queue refused.
    pub qdrops: u64,
    /// Copies not made for want of mbufs.
    pub nobufs: u64,
}

/// Hand one frame a driver read (shmif, virtif) to its kernel as the interface's receive
/// impairment says: dropped, duplicated, corrupted or held back. `queue` takes each copy
/// with the clock tick it may be processed from (`IfInput::input_at` or `input_quiet`)
/// and says whether it was queued; `host`'s clock dates a delay.
pub fn deliver_impaired(
    imp: &parking_lot::Mutex<Impairment>,
    frame: &[u8],
    pool: &MbufPool,
    host: &dyn crate::rumpuser::Hypervisor,
    mut queue: impl FnMut(MbufChain, u64) -> bool,
) -> Delivered {
    let d = imp.lock().decide(frame.len());
    let hold = d.extra_delay_ticks();
    let not_before = if hold == 0 {
        0
    } else {
        duration_to_ticks(host.clock_monotonic()) + hold
    };
    let mut out = Delivered::default();
    for _ in 0..d.copies() {
        match copy_frame(pool, frame, d.corrupt_at) {
            None => out.nobufs += 1,
            Some(m) => {
                if queue(m, not_before) {
                    out.queued += 1;
                } else {
                    out.qdrops += 1;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(seed: u64) -> IfOptions {
        IfOptions {
            loss: 0.2,
            dup: 0.2,
            reorder: 0.2,
            corrupt: 0.2,
            delay_ms: 3,
            seed,
            ..Default::default()
        }
    }

    #[test]
    fn clean_options_change_nothing() {
        let mut imp = Impairment::new(IfOptions::default());
        for len in [0, 14, 15, 1514] {
            let d = imp.decide(len);
            assert_eq!(d.copies(), 1);
            assert_eq!((d.corrupt_at, d.extra_delay_ticks()), (None, 0));
        }
        assert_eq!(imp.stats(), ImpairStats::default());
    }

    #[test]
    fn same_seed_same_decisions_and_reset_restarts() {
        let mut a = Impairment::new(all(5));
        let mut b = Impairment::new(all(5));
        let da: Vec<_> = (0..1000).map(|_| a.decide(100)).collect();
        let db: Vec<_> = (0..1000).map(|_| b.decide(100)).collect();
        assert_eq!(da, db);
        assert_eq!(a.stats(), b.stats());
        a.reset(all(5));
        let again: Vec<_> = (0..1000).map(|_| a.decide(100)).collect();
        assert_eq!(da, again);
        let mut c = Impairment::new(all(6));
        let dc: Vec<_> = (0..1000).map(|_| c.decide(100)).collect();
        assert_ne!(da, dc);
    }

    #[test]
    fn corruption_stays_past_the_header_and_copies_flip_one_bit() {
        let pool = MbufPool::new(64);
        let mut imp = Impairment::new(IfOptions {
            corrupt: 1.0,
            ..Default::default()
        });
        let src: Vec<u8> = (0..60).collect();
        for _ in 0..200 {
            let d = imp.decide(src.len());
            let (off, mask) = d.corrupt_at.unwrap();
            assert!((ETHER_HDR_LEN..src.len()).contains(&off));
            assert_eq!(mask.count_ones(), 1);
            let c = copy_frame(&pool, &src, d.corrupt_at).unwrap().to_vec();
            let flipped: u32 = c.iter().zip(&src).map(|(x, y)| (x ^ y).count_ones()).sum();
            assert_eq!(flipped, 1);
        }
        assert_eq!(imp.decide(ETHER_HDR_LEN).corrupt_at, None);
        assert_eq!(imp.stats().corrupted, 200);
    }
}
