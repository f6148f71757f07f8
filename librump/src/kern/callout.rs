//! Callouts: one-shot timers on a hierarchical timing wheel (NetBSD: kern_timeout.c,
//! after Costello and Varghese, "Redesigning the BSD Callout and Timer Facilities").
//!
//! Time is an integer tick counter that the owner passes in ([`CalloutWheel::advance`]);
//! the wheel never reads a clock. A callout scheduled `ticks` ahead gets the absolute
//! deadline `now + max(ticks, 1)` and fires on the first `advance` whose tick reaches it.
//! What firing means is up to the owner: the wheel hands back the payload `T`.
//!
//! # Layout
//!
//! The wheel has [`LEVELS`] levels of [`SLOTS`] buckets each (64 a level, 704 in all),
//! like NetBSD's four levels of 256 but with 6-bit digits, so one `u64` per level records
//! which buckets are occupied and the next occupied bucket is a `trailing_zeros` away.
//! Read the tick counter as base-64 digits. A callout with deadline `d` lives at level
//! `L` = the highest digit in which `d` differs from `now`, in bucket `digit_L(d)`. So
//! level 0 holds the callouts due within the current block of 64 ticks (each bucket holds
//! exactly one deadline), level 1 those due within the current block of 4096 ticks, and
//! so on; 11 levels cover the whole `u64`, so no callout ever carries a round count and
//! nothing fires a revolution early.
//!
//! # Invariants
//!
//! - Every pending callout sits at level `level_of(deadline, now)` for the current `now`,
//!   in a bucket whose digit is greater than `now`'s digit at that level. So all pending
//!   callouts with one deadline share one bucket, and the lowest occupied level holds the
//!   earliest deadline.
//! - Within a bucket, callouts are in the order they were scheduled (or last reset). A
//!   bucket of level `L` is emptied ("cascaded") into the lower levels only when `now`
//!   reaches the start of its block, and at that moment every lower level is empty, so the
//!   cascade preserves that order. This is why ties fire in scheduling order.
//! - Entries live in a slab (a `Vec` with a free list); bucket lists are doubly linked
//!   through slab indices. Schedule, stop and reset are O(1) and allocate nothing once the
//!   slab has grown to the largest number of callouts pending at once.
//! - A [`CalloutId`] carries the slot's generation, bumped when the slot is freed, so a
//!   stale id (its callout fired or was stopped, and the slot reused) is harmless. The
//!   generation is 32 bits: an id goes stale-but-valid again only after 2^32 reuses of
//!   one slot.
//!
//! # Costs
//!
//! - `advance` visits only occupied buckets: each step either fires a level-0 bucket or
//!   cascades one higher bucket, and a callout cascades at most `LEVELS - 1` times in its
//!   life. Jumping 10^6 (or 10^12) ticks costs O(fired + cascaded + LEVELS per step), never
//!   O(ticks).
//! - `next_deadline` is O(1) when cached. The cache is dropped only when the earliest
//!   callout leaves (stopped, reset or fired); recomputing it costs O(LEVELS) plus the
//!   length of one bucket (the lowest occupied one, scanned only if level 0 is empty).
//!
//! The tick counter is assumed never to reach `u64::MAX`; a deadline that would overflow
//! is clamped to `u64::MAX`.

use std::cell::Cell;
use std::fmt;

/// Bits of the tick counter per wheel level.
const SLOT_BITS: u32 = 6;
/// Buckets per level.
pub const SLOTS: usize = 1 << SLOT_BITS;
/// Levels: enough 6-bit digits to cover a `u64` tick counter.
pub const LEVELS: usize = 64_usize.div_ceil(SLOT_BITS as usize);
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// The end-of-list marker in the intrusive lists.
const NIL: u32 = u32::MAX;

/// A handle to a scheduled callout: slab index plus generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CalloutId {
    index: u32,
    gen: u32,
}

/// One slab slot: a pending callout, or a link in the free list.
struct Entry<T> {
    /// `Some` while the callout is pending.
    item: Option<T>,
    deadline: u64,
    /// Previous entry in the bucket list.
    prev: u32,
    /// Next entry in the bucket list, or the next free slot.
    next: u32,
    gen: u32,
    /// Bucket number: `level * SLOTS + slot`.
    bucket: u16,
}

/// The head and tail of one bucket's list.
#[derive(Clone, Copy)]
struct Bucket {
    head: u32,
    tail: u32,
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        head: NIL,
        tail: NIL,
    };
}

/// A set of callouts keyed by deadline tick (NetBSD: callout_t and the callout wheel).
pub struct CalloutWheel<T> {
    now: u64,
    entries: Vec<Entry<T>>,
    /// Head of the free list through `Entry::next`.
    free: u32,
    len: usize,
    buckets: Box<[Bucket]>,
    /// Per level, bit `s` set when bucket `s` of that level is non-empty.
    occupied: [u64; LEVELS],
    /// The earliest deadline: `None` when unknown, `Some(None)` when the wheel is empty.
    next_cache: Cell<Option<Option<u64>>>,
    /// Buckets emptied by `advance`, to let tests check the cost of a jump.
    #[cfg(test)]
    visited: u64,
}

/// The level at which a callout due at `deadline` lives when the time is `now`.
fn level_of(deadline: u64, now: u64) -> usize {
    let diff = deadline ^ now;
    if diff == 0 {
        // Only a deadline clamped at u64::MAX can equal `now`; it is due at once.
        0
    } else {
        ((63 - diff.leading_zeros()) / SLOT_BITS) as usize
    }
}

/// The digit of `t` at `level`.
fn slot_of(t: u64, level: usize) -> usize {
    ((t >> (level as u32 * SLOT_BITS)) & SLOT_MASK) as usize
}

/// The tick at which bucket `slot` of `level` comes due: `now` with that level's digit
/// replaced by `slot` and every lower digit zero.
fn bucket_time(now: u64, level: usize, slot: usize) -> u64 {
    let shift = level as u32 * SLOT_BITS;
    let above = shift + SLOT_BITS;
    let high = if above >= 64 {
        0
    } else {
        (now >> above) << above
    };
    high | ((slot as u64) << shift)
}

impl<T> CalloutWheel<T> {
    /// An empty wheel whose clock reads `now`.
    pub fn new(now: u64) -> Self {
        CalloutWheel {
            now,
            entries: Vec::new(),
            free: NIL,
            len: 0,
            buckets: vec![Bucket::EMPTY; LEVELS * SLOTS].into_boxed_slice(),
            occupied: [0; LEVELS],
            next_cache: Cell::new(Some(None)),
            #[cfg(test)]
            visited: 0,
        }
    }

    /// The current tick: every callout due at or before it has fired.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of pending callouts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no callout is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedule `item` to fire at `now + max(ticks, 1)` (NetBSD: callout_reset).
    ///
    /// # Panics
    /// If more than `u32::MAX - 1` callouts are pending at once.
    pub fn schedule(&mut self, ticks: u64, item: T) -> CalloutId {
        let deadline = self.deadline_in(ticks);
        let index = if self.free != NIL {
            let index = self.free;
            let e = &mut self.entries[index as usize];
            self.free = e.next;
            e.item = Some(item);
            e.deadline = deadline;
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("callout slab exhausted");
            self.entries.push(Entry {
                item: Some(item),
                deadline,
                prev: NIL,
                next: NIL,
                gen: 0,
                bucket: 0,
            });
            index
        };
        self.len += 1;
        self.link(index);
        self.note_added(deadline);
        CalloutId {
            index,
            gen: self.entries[index as usize].gen,
        }
    }

    /// Cancel a pending callout and hand back its payload (NetBSD: callout_stop).
    ///
    /// Returns `None` if the callout already fired, was stopped, or `id` is stale.
    pub fn stop(&mut self, id: CalloutId) -> Option<T> {
        if !self.is_pending(id) {
            return None;
        }
        self.unlink(id.index);
        self.release(id.index).map(|(_, item)| item)
    }

    /// Move a pending callout to `now + max(ticks, 1)`, keeping its payload and id.
    ///
    /// For tie-breaking it counts as scheduled now. Returns false (and does nothing) if
    /// the callout is not pending.
    pub fn reset(&mut self, id: CalloutId, ticks: u64) -> bool {
        if !self.is_pending(id) {
            return false;
        }
        let deadline = self.deadline_in(ticks);
        self.unlink(id.index);
        self.note_removed(self.entries[id.index as usize].deadline);
        self.entries[id.index as usize].deadline = deadline;
        self.link(id.index);
        self.note_added(deadline);
        true
    }

    /// True while the callout has neither fired nor been stopped (NetBSD: callout_pending).
    pub fn is_pending(&self, id: CalloutId) -> bool {
        self.entries
            .get(id.index as usize)
            .is_some_and(|e| e.gen == id.gen && e.item.is_some())
    }

    /// The tick at which a pending callout will fire, or `None` if it is not pending.
    pub fn deadline(&self, id: CalloutId) -> Option<u64> {
        if self.is_pending(id) {
            Some(self.entries[id.index as usize].deadline)
        } else {
            None
        }
    }

    /// The payload of a pending callout.
    pub fn get_mut(&mut self, id: CalloutId) -> Option<&mut T> {
        if self.is_pending(id) {
            self.entries[id.index as usize].item.as_mut()
        } else {
            None
        }
    }

    /// Set the clock to `now` and append every callout due at or before it to `fired`
    /// (NetBSD: softclock), in deadline order, ties in scheduling order.
    ///
    /// A `now` earlier than the current tick is ignored (time does not run backwards).
    /// The fired ids are stale on return; a payload that wants to run again is scheduled
    /// afresh, relative to the new `now`.
    pub fn advance(&mut self, now: u64, fired: &mut Vec<(CalloutId, T)>) {
        let before = fired.len();
        while let Some((level, slot)) = self.first_occupied() {
            let at = bucket_time(self.now, level, slot);
            if at > now {
                break;
            }
            // `at` is never behind `now` except for a deadline clamped at u64::MAX.
            self.now = self.now.max(at);
            self.empty_bucket(level, slot, fired);
        }
        self.now = self.now.max(now);
        if fired.len() != before {
            self.next_cache.set(None);
        }
    }

    /// The earliest pending deadline, for a clock thread that sleeps while idle.
    ///
    /// O(1) when cached; otherwise O(LEVELS) plus a scan of one bucket.
    pub fn next_deadline(&self) -> Option<u64> {
        if let Some(cached) = self.next_cache.get() {
            return cached;
        }
        let next = self.first_occupied().map(|(level, slot)| {
            if level == 0 {
                // A level-0 bucket holds exactly one deadline.
                bucket_time(self.now, 0, slot)
            } else {
                let mut earliest = u64::MAX;
                let mut i = self.buckets[level * SLOTS + slot].head;
                while i != NIL {
                    let e = &self.entries[i as usize];
                    earliest = earliest.min(e.deadline);
                    i = e.next;
                }
                earliest
            }
        });
        self.next_cache.set(Some(next));
        next
    }

    /// A pending deadline no earlier than the earliest, or `None` when the wheel is
    /// empty: the earliest when cached, else that of the first callout in the lowest
    /// occupied bucket. O(LEVELS) always, for a caller that only needs to know whether a
    /// new callout may be the earliest (a wakeup that can be spurious but never missed).
    pub fn next_deadline_bound(&self) -> Option<u64> {
        if let Some(cached) = self.next_cache.get() {
            return cached;
        }
        self.first_occupied().map(|(level, slot)| {
            let head = self.buckets[level * SLOTS + slot].head;
            self.entries[head as usize].deadline
        })
    }

    /// The absolute deadline `ticks` from now, at least one tick ahead.
    fn deadline_in(&self, ticks: u64) -> u64 {
        self.now.saturating_add(ticks.max(1))
    }

    /// The lowest occupied bucket, as (level, slot).
    fn first_occupied(&self) -> Option<(usize, usize)> {
        self.occupied
            .iter()
            .position(|&bits| bits != 0)
            .map(|level| (level, self.occupied[level].trailing_zeros() as usize))
    }

    /// Append entry `i` to the tail of the bucket its deadline maps to.
    fn link(&mut self, i: u32) {
        let deadline = self.entries[i as usize].deadline;
        let level = level_of(deadline, self.now);
        let slot = slot_of(deadline, level);
        let b = level * SLOTS + slot;
        let tail = self.buckets[b].tail;
        let e = &mut self.entries[i as usize];
        e.bucket = b as u16;
        e.prev = tail;
        e.next = NIL;
        if tail == NIL {
            self.buckets[b].head = i;
        } else {
            self.entries[tail as usize].next = i;
        }
        self.buckets[b].tail = i;
        self.occupied[level] |= 1 << slot;
    }

    /// Take entry `i` out of its bucket list.
    fn unlink(&mut self, i: u32) {
        let e = &self.entries[i as usize];
        let (b, prev, next) = (usize::from(e.bucket), e.prev, e.next);
        if prev == NIL {
            self.buckets[b].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.buckets[b].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.buckets[b].head == NIL {
            self.occupied[b / SLOTS] &= !(1 << (b % SLOTS));
        }
    }

    /// Free the (already unlinked) slot `i`, returning its id and payload.
    fn release(&mut self, i: u32) -> Option<(CalloutId, T)> {
        let e = &mut self.entries[i as usize];
        let item = e.item.take()?;
        let id = CalloutId {
            index: i,
            gen: e.gen,
        };
        e.gen = e.gen.wrapping_add(1);
        e.next = self.free;
        let deadline = e.deadline;
        self.free = i;
        self.len -= 1;
        self.note_removed(deadline);
        Some((id, item))
    }

    /// Empty one bucket whose time has come: fire what is due, cascade the rest down.
    fn empty_bucket(&mut self, level: usize, slot: usize, fired: &mut Vec<(CalloutId, T)>) {
        #[cfg(test)]
        {
            self.visited += 1;
        }
        let b = level * SLOTS + slot;
        let mut i = self.buckets[b].head;
        self.buckets[b] = Bucket::EMPTY;
        self.occupied[level] &= !(1 << slot);
        while i != NIL {
            let next = self.entries[i as usize].next;
            if self.entries[i as usize].deadline <= self.now {
                fired.extend(self.release(i));
            } else {
                // Every lower level is empty now, so appending keeps the bucket's order.
                self.link(i);
            }
            i = next;
        }
    }

    /// Keep the cached earliest deadline valid after adding `deadline`.
    fn note_added(&self, deadline: u64) {
        if let Some(cached) = self.next_cache.get() {
            let next = cached.map_or(deadline, |c| c.min(deadline));
            self.next_cache.set(Some(Some(next)));
        }
    }

    /// Drop the cached earliest deadline if `deadline` was it.
    fn note_removed(&self, deadline: u64) {
        if let Some(Some(cached)) = self.next_cache.get() {
            if cached == deadline {
                self.next_cache.set(None);
            }
        }
    }
}

impl<T> fmt::Debug for CalloutWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalloutWheel")
            .field("now", &self.now)
            .field("len", &self.len)
            .field("next_deadline", &self.next_deadline())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Marsaglia's xorshift64: deterministic and dependency-free.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn drain(w: &mut CalloutWheel<u32>, now: u64) -> Vec<u32> {
        let mut fired = Vec::new();
        w.advance(now, &mut fired);
        fired.into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn many_deadlines_fire_in_order() {
        let mut w = CalloutWheel::new(0);
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut want = Vec::new();
        for i in 0..5000u32 {
            let ticks = 1 + rng.below(1 << 18);
            w.schedule(ticks, i);
            want.push((ticks, i));
        }
        want.sort();
        let got = drain(&mut w, 1 << 18);
        let want: Vec<u32> = want.into_iter().map(|(_, i)| i).collect();
        assert_eq!(got, want);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn the_deadline_bound_is_a_pending_deadline_no_earlier_than_the_next() {
        let mut w = CalloutWheel::new(0);
        assert_eq!(w.next_deadline_bound(), None);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut ids = Vec::new();
        for i in 0..2000u32 {
            ids.push(w.schedule(1000 + rng.below(100_000), i));
        }
        for (n, id) in ids.iter().enumerate() {
            if n % 3 == 0 {
                w.stop(*id); // drops the cached earliest now and then
            }
            let b = w.next_deadline_bound().unwrap();
            let d = w.next_deadline().unwrap();
            assert!(b >= d, "{b} < {d}");
            assert!(ids.iter().any(|&i| w.deadline(i) == Some(b)));
        }
    }

    #[test]
    fn ties_fire_in_schedule_order() {
        // Same deadline, scheduled from different distances (so at different levels).
        let mut w = CalloutWheel::new(10);
        w.schedule(5000, 0);
        w.schedule(5000, 1);
        assert!(drain(&mut w, 1000).is_empty());
        w.schedule(4010, 2); // deadline 5010 again, now one level lower
        assert!(drain(&mut w, 5000).is_empty());
        w.schedule(10, 3);
        w.schedule(9, 4); // deadline 5009: earlier
        assert_eq!(drain(&mut w, 6000), vec![4, 0, 1, 2, 3]);
    }

    #[test]
    fn zero_ticks_means_next_tick() {
        let mut w = CalloutWheel::new(7);
        let id = w.schedule(0, 1);
        assert_eq!(w.deadline(id), Some(8));
        assert!(drain(&mut w, 7).is_empty());
        assert_eq!(drain(&mut w, 8), vec![1]);
    }

    #[test]
    fn stop_before_fire() {
        let mut w = CalloutWheel::new(0);
        let a = w.schedule(100, 1);
        let b = w.schedule(100, 2);
        assert!(w.is_pending(a));
        assert_eq!(w.stop(a), Some(1));
        assert!(!w.is_pending(a));
        assert_eq!(w.stop(a), None);
        assert_eq!(w.len(), 1);
        assert_eq!(drain(&mut w, 1000), vec![2]);
        assert!(!w.is_pending(b));
    }

    #[test]
    fn stop_after_fire_returns_none() {
        let mut w = CalloutWheel::new(0);
        let a = w.schedule(3, 1);
        let mut fired = Vec::new();
        w.advance(3, &mut fired);
        assert_eq!(fired, vec![(a, 1)]);
        assert_eq!(w.stop(a), None);
        assert!(!w.reset(a, 5));
        assert_eq!(w.deadline(a), None);
    }

    #[test]
    fn stale_id_after_slot_reuse_is_harmless() {
        let mut w = CalloutWheel::new(0);
        let old = w.schedule(10, 1);
        assert_eq!(w.stop(old), Some(1));
        let new = w.schedule(20, 2);
        assert_ne!(old, new);
        assert!(!w.is_pending(old));
        assert_eq!(w.stop(old), None);
        assert!(!w.reset(old, 1));
        assert!(w.get_mut(old).is_none());
        assert!(w.is_pending(new));
        assert_eq!(drain(&mut w, 20), vec![2]);
        // An id from a bigger wheel is simply not pending here.
        let mut big = CalloutWheel::new(0);
        let far = (0..5).map(|i| big.schedule(1, i)).last().unwrap();
        assert!(!w.is_pending(far));
        assert_eq!(w.stop(far), None);
    }

    #[test]
    fn reset_earlier_and_later() {
        let mut w = CalloutWheel::new(0);
        let a = w.schedule(100, 1);
        let b = w.schedule(100, 2);
        let c = w.schedule(5, 3);
        assert!(w.reset(a, 50_000)); // later, a few levels up
        assert!(w.reset(c, 200)); // later, same level
        assert!(w.reset(b, 1)); // earlier
        assert_eq!(w.next_deadline(), Some(1));
        assert_eq!(drain(&mut w, 1), vec![2]);
        assert!(drain(&mut w, 199).is_empty());
        assert_eq!(drain(&mut w, 200), vec![3]);
        assert!(w.reset(a, 10)); // from far away to near
        assert_eq!(w.deadline(a), Some(210));
        assert_eq!(drain(&mut w, 209), Vec::<u32>::new());
        assert_eq!(drain(&mut w, 210), vec![1]);
    }

    #[test]
    fn reset_counts_as_rescheduled_for_ties() {
        let mut w = CalloutWheel::new(0);
        let a = w.schedule(10, 1);
        w.schedule(10, 2);
        assert!(w.reset(a, 10));
        if let Some(v) = w.get_mut(a) {
            *v = 10;
        }
        assert_eq!(drain(&mut w, 10), vec![2, 10]);
    }

    #[test]
    fn beyond_one_revolution_fires_on_time() {
        let deltas = [
            63,
            64,
            65,
            127,
            128,
            4095,
            4096,
            4097,
            262_143,
            262_144,
            262_145,
            1 << 24,
            (1 << 30) + 17,
            1 << 36,
            (1 << 48) + 3,
            1 << 60,
            (1 << 62) + 1,
        ];
        for base in [0, 1, 63, 64, 4095, 1_000_003, (1 << 40) - 1] {
            for &d in &deltas {
                let mut w = CalloutWheel::new(base);
                let id = w.schedule(d, 7);
                assert_eq!(w.next_deadline(), Some(base + d));
                assert!(drain(&mut w, base + d - 1).is_empty(), "early: {base}+{d}");
                assert!(w.is_pending(id));
                assert_eq!(w.next_deadline(), Some(base + d));
                assert_eq!(drain(&mut w, base + d), vec![7], "late: {base}+{d}");
            }
        }
    }

    #[test]
    fn tick_by_tick_fires_exactly_at_deadline() {
        let mut w = CalloutWheel::new(5);
        let mut rng = XorShift(42);
        for i in 0..2000u32 {
            w.schedule(rng.below(300_000), i);
        }
        let mut deadlines = BTreeMap::new();
        for e in &w.entries {
            if let Some(i) = e.item {
                deadlines.insert(i, e.deadline);
            }
        }
        let mut fired = Vec::new();
        let mut count = 0;
        for t in 6..=300_005 {
            fired.clear();
            w.advance(t, &mut fired);
            for (_, i) in &fired {
                assert_eq!(deadlines[i], t);
            }
            count += fired.len();
        }
        assert_eq!(count, 2000);
    }

    #[test]
    fn single_ticks_and_jumps_agree() {
        let build = || {
            let mut w = CalloutWheel::new(1000);
            let mut rng = XorShift(7);
            for i in 0..3000u32 {
                let ticks = match i % 3 {
                    0 => rng.below(64),
                    1 => rng.below(5000),
                    _ => rng.below(200_000),
                };
                let id = w.schedule(ticks, i);
                if i % 11 == 0 {
                    w.stop(id);
                } else if i % 13 == 0 {
                    w.reset(id, rng.below(100_000));
                }
            }
            w
        };
        let end = 1000 + 200_001;
        let mut ticks = build();
        let mut by_tick = Vec::new();
        for t in 1001..=end {
            ticks.advance(t, &mut by_tick);
        }
        let mut jumps = build();
        let mut by_jump = Vec::new();
        let mut rng = XorShift(99);
        let mut t = 1000;
        while t < end {
            t = (t + 1 + rng.below(3000)).min(end);
            jumps.advance(t, &mut by_jump);
        }
        let mut once = build();
        let mut at_once = Vec::new();
        once.advance(end, &mut at_once);
        assert!(!by_tick.is_empty());
        assert_eq!(by_tick, by_jump);
        assert_eq!(by_tick, at_once);
    }

    #[test]
    fn hundred_thousand_random_timers_fire_once_in_order() {
        const N: u32 = 100_000;
        let mut w = CalloutWheel::new(0);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut deadline = Vec::with_capacity(N as usize);
        for i in 0..N {
            let ticks = match rng.below(4) {
                0 => rng.below(100),
                1 => rng.below(10_000),
                _ => rng.below(1 << 21),
            };
            w.schedule(ticks, i);
            deadline.push(ticks.max(1));
        }
        assert_eq!(w.len(), N as usize);
        let mut seen = vec![false; N as usize];
        let mut fired = Vec::new();
        let mut last = (0, 0);
        let mut prev_now = 0;
        while !w.is_empty() {
            let now = prev_now + 1 + rng.below(5000);
            fired.clear();
            w.advance(now, &mut fired);
            for &(_, i) in &fired {
                let d = deadline[i as usize];
                assert!(
                    d > prev_now && d <= now,
                    "timer {i} due {d} fired in ({prev_now}, {now}]"
                );
                assert!(!seen[i as usize], "timer {i} fired twice");
                seen[i as usize] = true;
                assert!((d, i) > last, "out of order: {:?} after {last:?}", (d, i));
                last = (d, i);
            }
            prev_now = now;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn rearm_from_fired_list() {
        let mut w = CalloutWheel::new(0);
        w.schedule(10, 0u32);
        let mut fired = Vec::new();
        let mut fire_ticks = Vec::new();
        for t in 1..=100 {
            fired.clear();
            w.advance(t, &mut fired);
            for (id, n) in fired.drain(..) {
                assert!(!w.is_pending(id));
                fire_ticks.push(t);
                if n < 5 {
                    w.schedule(10, n + 1);
                }
            }
        }
        assert_eq!(fire_ticks, vec![10, 20, 30, 40, 50, 60]);
        assert!(w.is_empty());
    }

    #[test]
    fn next_deadline_tracks_the_earliest() {
        let mut w = CalloutWheel::new(100);
        assert_eq!(w.next_deadline(), None);
        let far = w.schedule(70_000, 1);
        assert_eq!(w.next_deadline(), Some(70_100));
        let mid = w.schedule(300, 2);
        w.schedule(301, 3);
        assert_eq!(w.next_deadline(), Some(400));
        w.stop(mid);
        assert_eq!(w.next_deadline(), Some(401));
        assert_eq!(drain(&mut w, 401), vec![3]);
        assert_eq!(w.next_deadline(), Some(70_100));
        let near = w.schedule(2, 4);
        assert_eq!(w.next_deadline(), Some(403));
        assert!(w.reset(near, 100_000));
        assert_eq!(w.next_deadline(), Some(70_100));
        assert!(w.reset(far, 200_000));
        assert_eq!(w.next_deadline(), Some(100_401));
        // After a cascade the answer is unchanged.
        assert!(drain(&mut w, 100_000).is_empty());
        assert_eq!(w.next_deadline(), Some(100_401));
    }

    #[test]
    fn matches_a_model_under_random_operations() {
        let mut w = CalloutWheel::new(0);
        // (deadline, sequence) -> (id, value)
        let mut model: BTreeMap<(u64, u64), (CalloutId, u32)> = BTreeMap::new();
        let mut ids: Vec<CalloutId> = Vec::new();
        let mut rng = XorShift(12345);
        let mut seq = 0;
        let mut fired = Vec::new();
        for step in 0..200_000u32 {
            match rng.below(10) {
                0..=3 => {
                    let ticks = match rng.below(3) {
                        0 => rng.below(70),
                        1 => rng.below(5000),
                        _ => rng.below(400_000),
                    };
                    let id = w.schedule(ticks, step);
                    seq += 1;
                    model.insert((w.now() + ticks.max(1), seq), (id, step));
                    ids.push(id);
                }
                4 if !ids.is_empty() => {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    let key = model.iter().find(|(_, v)| v.0 == id).map(|(k, _)| *k);
                    let got = w.stop(id);
                    assert_eq!(got, key.map(|k| model.remove(&k).unwrap().1));
                }
                5 if !ids.is_empty() => {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    let ticks = rng.below(10_000);
                    let key = model.iter().find(|(_, v)| v.0 == id).map(|(k, _)| *k);
                    assert_eq!(w.reset(id, ticks), key.is_some());
                    if let Some(k) = key {
                        let v = model.remove(&k).unwrap();
                        seq += 1;
                        model.insert((w.now() + ticks.max(1), seq), v);
                    }
                }
                _ => {
                    let now = w.now() + rng.below(2000);
                    fired.clear();
                    w.advance(now, &mut fired);
                    let later = model.split_off(&(now + 1, 0));
                    let due: Vec<_> = std::mem::replace(&mut model, later).into_values().collect();
                    assert_eq!(fired, due);
                }
            }
            if ids.len() > 4096 {
                ids.drain(..2048);
            }
            assert_eq!(w.len(), model.len());
            assert_eq!(w.next_deadline(), model.keys().next().map(|k| k.0));
        }
    }

    #[test]
    fn huge_jumps_visit_only_occupied_buckets() {
        let mut w = CalloutWheel::new(0);
        for i in 0..10u32 {
            w.schedule(1_000_000 * u64::from(i + 1), i);
        }
        let mut fired = Vec::new();
        w.advance(1_000_000_000_000, &mut fired);
        assert_eq!(fired.len(), 10);
        // Each timer cascades through at most LEVELS buckets on its way down.
        assert!(w.visited <= 10 * LEVELS as u64, "visited {}", w.visited);
        let before = w.visited;
        w.advance(u64::MAX - 1, &mut fired);
        assert_eq!(w.visited, before);
        assert_eq!(w.now(), u64::MAX - 1);
    }

    #[test]
    fn deadline_saturates_near_the_end_of_time() {
        let mut w = CalloutWheel::new(u64::MAX - 10);
        let a = w.schedule(u64::MAX, 1);
        let b = w.schedule(5, 2);
        assert_eq!(w.deadline(a), Some(u64::MAX));
        assert_eq!(w.next_deadline(), Some(u64::MAX - 5));
        assert_eq!(drain(&mut w, u64::MAX), vec![2, 1]);
        assert!(!w.is_pending(b));
        // The clock has reached the end: a new callout is clamped and fires next advance.
        w.schedule(3, 3);
        assert_eq!(w.next_deadline(), Some(u64::MAX));
        assert_eq!(drain(&mut w, u64::MAX), vec![3]);
    }

    #[test]
    fn time_does_not_run_backwards() {
        let mut w = CalloutWheel::new(500);
        w.schedule(10, 1);
        assert!(drain(&mut w, 100).is_empty());
        assert_eq!(w.now(), 500);
        assert_eq!(drain(&mut w, 510), vec![1]);
    }

    #[test]
    fn slots_are_reused_without_growth() {
        let mut w = CalloutWheel::new(0);
        let mut fired = Vec::new();
        for round in 0..100u64 {
            for i in 0..50u32 {
                w.schedule(1 + u64::from(i), i);
            }
            w.advance((round + 1) * 100, &mut fired);
        }
        assert_eq!(fired.len(), 5000);
        assert_eq!(w.entries.len(), 50);
    }
}
