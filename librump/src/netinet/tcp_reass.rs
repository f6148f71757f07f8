//! The out-of-order reassembly queue of one connection (NetBSD: tcp_input.c tcp_reass).
//!
//! Segments that arrive ahead of `rcv_nxt` wait here until the hole before them fills.
//! The queue holds their data as mbuf chains, ordered by sequence number and never
//! overlapping, so taking the ready prefix is a walk from the front:
//!
//! - **On insert** the new segment is trimmed: bytes below `rcv_nxt` are already
//!   delivered, bytes the predecessor holds are already queued, and bytes past a known
//!   FIN cannot exist. Queued segments the new one covers entirely are replaced by it
//!   (the 4.4BSD rule); one it covers partly keeps its bytes and the new one's tail is
//!   cut. Every trimmed byte is counted, so tcp input can bump tcpstat's duplicate
//!   counters (`tcps_rcvduppack`, `tcps_rcvpartduppack`, ...).
//! - **[`TcpReass::take_ready`]** hands back the data contiguous from `rcv_nxt`, and
//!   says whether the FIN was reached.
//! - **SACK** ([`TcpReass::sack_blocks`]): RFC 2018 section 4 wants the first block to
//!   be the one holding the segment that triggered the ACK, then the other most
//!   recently received blocks. The queue remembers where the last few inserts landed
//!   and reports their blocks in that order; any room left goes to the remaining
//!   blocks, lowest first (the sender's next holes). No D-SACK (RFC 2883).
//!
//! The FIN is a point in sequence space, so the queue keeps one FIN position for itself
//! rather than a flag on a segment (whose data may be trimmed or replaced). The first
//! FIN position seen stands; a FIN elsewhere is ignored and counted, as is data past it.
//!
//! ## Limits
//!
//! A byte limit and a segment limit bound what a peer can make the queue hold
//! (FreeBSD's net.inet.tcp.reass.maxqueuelen plays the second). A segment that would
//! exceed either is refused whole and counted (`tcps_rcvmemdrop`); the sender will
//! retransmit it. A segment that starts at `rcv_nxt` is never refused: it is about to
//! drain the queue, and refusing it could stall the connection for good. tcp input
//! should set the byte limit to the receive buffer's space, as data beyond the
//! advertised window is trimmed before it gets here.
//!
//! All comparisons use sequence arithmetic ([`super::tcp_seq`]): everything queued lies
//! within the receive window, less than 2^31 ahead of `rcv_nxt`.

use std::collections::VecDeque;

use super::tcp_seq::{seq_geq, seq_gt, seq_leq, seq_lt, seq_sub};
use crate::kern::mbuf::MbufChain;

/// Default segment limit (FreeBSD's tcp_reass_maxqueuelen).
pub const TCP_REASS_MAXSEGS: usize = 100;
/// Default byte limit; tcp input should lower it to the receive buffer's space.
pub const TCP_REASS_MAXBYTES: usize = 256 * 1024;
/// Inserts remembered for SACK ordering: more than any SACK option can report.
const RECENT_MAX: usize = 8;

/// The limits of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpReassLimits {
    /// Segments held at most.
    pub max_segs: usize,
    /// Data bytes held at most.
    pub max_bytes: usize,
}

impl Default for TcpReassLimits {
    fn default() -> Self {
        TcpReassLimits {
            max_segs: TCP_REASS_MAXSEGS,
            max_bytes: TCP_REASS_MAXBYTES,
        }
    }
}

/// Counters of one queue, named after the tcpstat counters they feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpReassStat {
    /// Segments queued with at least one new byte (`tcps_rcvoopack`; this counts one
    /// that starts at `rcv_nxt` too, which tcp input counts as in order instead).
    pub rcvoopack: u64,
    /// New bytes queued (`tcps_rcvoobyte`).
    pub rcvoobyte: u64,
    /// Segments whose every byte was held or delivered already (`tcps_rcvduppack`).
    pub rcvduppack: u64,
    /// Their bytes (`tcps_rcvdupbyte`).
    pub rcvdupbyte: u64,
    /// Segments queued partly: some bytes were held already (`tcps_rcvpartduppack`).
    pub rcvpartduppack: u64,
    /// The bytes trimmed off them (`tcps_rcvpartdupbyte`).
    pub rcvpartdupbyte: u64,
    /// Segments refused by a limit (`tcps_rcvmemdrop`).
    pub rcvmemdrop: u64,
    /// Their bytes.
    pub rcvmemdropbyte: u64,
    /// Bytes past the FIN, trimmed from inserts or from the queue.
    pub rcvbyteafterfin: u64,
    /// FINs at another place than the first one seen, ignored.
    pub rcvfinconflict: u64,
    /// Queued bytes found below `rcv_nxt` by take_ready (delivered by another path).
    pub rcvstalebyte: u64,
}

/// What [`TcpReass::insert`] did with a segment.
#[must_use]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassInsert {
    /// Bytes queued that the queue did not hold before.
    pub new_bytes: usize,
    /// Bytes trimmed because they were delivered or queued already.
    pub dup_bytes: usize,
    /// Bytes trimmed because they lay past the FIN.
    pub after_fin_bytes: usize,
    /// Whether a limit refused the segment; the queue is then unchanged.
    pub dropped: bool,
    /// Whether this segment's FIN was recorded.
    pub fin: bool,
}

impl ReassInsert {
    /// Whether the segment brought nothing: no new byte, no FIN, not refused.
    pub fn is_duplicate(&self) -> bool {
        !self.dropped && !self.fin && self.new_bytes == 0
    }
}

/// One queued segment: its data starts at `seq`.
#[derive(Debug)]
struct ReassSeg {
    seq: u32,
    data: MbufChain,
}

impl ReassSeg {
    /// The sequence number after the last byte.
    fn end(&self) -> u32 {
        end_of(self.seq, self.data.len())
    }
}

/// `seq` advanced by `len` bytes. Lengths are below 2^31 (a window), so the cast keeps
/// them; the addition wraps on the sequence circle.
fn end_of(seq: u32, len: usize) -> u32 {
    seq.wrapping_add(len as u32)
}

/// The distance from `from` forward to `to`, which must not lie before it.
fn dist(from: u32, to: u32) -> usize {
    usize::try_from(seq_sub(to, from)).unwrap_or(0)
}

/// The reassembly queue of one connection (NetBSD: tp->segq).
#[derive(Debug, Default)]
pub struct TcpReass {
    /// Ordered by sequence, non-overlapping, none empty.
    segs: VecDeque<ReassSeg>,
    /// Data bytes held.
    bytes: usize,
    /// Sequence number of the FIN, once seen.
    fin: Option<u32>,
    limits: TcpReassLimits,
    /// A sequence number inside each recent insert, most recent first.
    recent: VecDeque<u32>,
    stat: TcpReassStat,
}

impl TcpReass {
    /// An empty queue with the default limits.
    pub fn new() -> Self {
        TcpReass::default()
    }

    /// An empty queue with `limits`.
    pub fn with_limits(limits: TcpReassLimits) -> Self {
        TcpReass {
            limits,
            ..TcpReass::default()
        }
    }

    /// The limits.
    pub fn limits(&self) -> TcpReassLimits {
        self.limits
    }

    /// Changes the limits; what is held already stays.
    pub fn set_limits(&mut self, limits: TcpReassLimits) {
        self.limits = limits;
    }

    /// The counters.
    pub fn stat(&self) -> &TcpReassStat {
        &self.stat
    }

    /// Segments held.
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// Data bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is held: no segment and no FIN waiting.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty() && self.fin.is_none()
    }

    /// The sequence number of the FIN, if one arrived and was not taken yet.
    pub fn fin_seq(&self) -> Option<u32> {
        self.fin
    }

    /// Drops everything held (connection closed or reset); the counters stay.
    pub fn clear(&mut self) {
        self.segs.clear();
        self.bytes = 0;
        self.fin = None;
        self.recent.clear();
    }

    /// Queues the segment of `m.len()` bytes at `seq` (with a FIN after them if `fin`),
    /// given the current `rcv_nxt`. Call [`TcpReass::take_ready`] afterwards: the
    /// segment may have filled the hole at `rcv_nxt`.
    ///
    /// tcp input trims the segment to the receive window first; an empty segment
    /// without FIN is a no-op.
    pub fn insert(&mut self, rcv_nxt: u32, seq: u32, mut m: MbufChain, fin: bool) -> ReassInsert {
        let mut result = ReassInsert::default();
        let mut seq = seq;
        let full_end = end_of(seq, m.len());

        // The FIN: the first position seen stands.
        let mut new_fin = None;
        if fin {
            match self.fin {
                Some(f) if f == full_end => {}
                Some(_) => self.stat.rcvfinconflict += 1,
                None if seq_geq(full_end, rcv_nxt) => new_fin = Some(full_end),
                // A FIN taken already, retransmitted (rcv_nxt is past it).
                None => {}
            }
        }

        // Trim what was delivered and what lies past the FIN.
        if seq_lt(seq, rcv_nxt) {
            let n = dist(seq, rcv_nxt).min(m.len());
            m.drop_front(n);
            result.dup_bytes += n;
            seq = end_of(seq, n);
        }
        if let Some(f) = new_fin.or(self.fin) {
            let end = end_of(seq, m.len());
            if seq_gt(end, f) {
                let n = dist(f, end).min(m.len());
                m.drop_back(n);
                result.after_fin_bytes += n;
            }
        }
        // Where the next SACK's first block must point: inside this segment.
        let mark = seq;

        // Against the predecessor (which starts at or before seq): trim our front.
        let at = self.segs.partition_point(|s| seq_leq(s.seq, seq));
        if let Some(pred) = at.checked_sub(1).and_then(|i| self.segs.get(i)) {
            let pred_end = pred.end();
            if seq_gt(pred_end, seq) {
                let n = dist(seq, pred_end).min(m.len());
                m.drop_front(n);
                result.dup_bytes += n;
                seq = end_of(seq, n);
            }
        }
        // Against successors: replace those we cover, cut our tail at one we overlap.
        let mut covered = at;
        let mut covered_bytes = 0;
        while let Some(next) = self.segs.get(covered) {
            let end = end_of(seq, m.len());
            if m.is_empty() || seq_leq(end, next.seq) {
                break;
            }
            if seq_leq(next.end(), end) {
                covered_bytes += next.data.len();
                covered += 1;
            } else {
                let n = dist(next.seq, end).min(m.len());
                m.drop_back(n);
                result.dup_bytes += n;
                break;
            }
        }
        result.dup_bytes += covered_bytes;

        // The limits, unless this segment is about to drain the queue.
        let len = m.len();
        if len > 0 {
            let segs = self.segs.len() - (covered - at) + 1;
            let bytes = self.bytes - covered_bytes + len;
            if (segs > self.limits.max_segs || bytes > self.limits.max_bytes)
                && seq_gt(seq, rcv_nxt)
            {
                self.stat.rcvmemdrop += 1;
                self.stat.rcvmemdropbyte += len as u64;
                return ReassInsert {
                    dropped: true,
                    fin: false,
                    ..ReassInsert::default()
                };
            }
        }

        // Commit.
        if len > 0 {
            self.segs.drain(at..covered);
            self.segs.insert(at, ReassSeg { seq, data: m });
            self.bytes = self.bytes - covered_bytes + len;
            result.new_bytes = len - covered_bytes;
        }
        if let Some(f) = new_fin {
            self.fin = Some(f);
            result.fin = true;
            let cut = self.trim_after(f);
            result.after_fin_bytes += cut;
        }
        if len > 0 || (result.dup_bytes > 0 && seq_gt(full_end, rcv_nxt)) {
            self.remember(mark);
        }
        self.count(&result);
        result
    }

    /// Drops queued bytes past `fin`; returns how many.
    fn trim_after(&mut self, fin: u32) -> usize {
        let mut cut = 0;
        while let Some(last) = self.segs.back_mut() {
            let end = last.end();
            if seq_leq(end, fin) {
                break;
            }
            if seq_geq(last.seq, fin) {
                cut += last.data.len();
                self.bytes -= last.data.len();
                self.segs.pop_back();
            } else {
                let n = dist(fin, end);
                last.data.drop_back(n);
                self.bytes -= n;
                cut += n;
            }
        }
        cut
    }

    /// Puts `seq` first in the recent-insert list.
    fn remember(&mut self, seq: u32) {
        self.recent.retain(|&s| s != seq);
        self.recent.push_front(seq);
        self.recent.truncate(RECENT_MAX);
    }

    fn count(&mut self, r: &ReassInsert) {
        let st = &mut self.stat;
        st.rcvbyteafterfin += r.after_fin_bytes as u64;
        if r.new_bytes > 0 {
            st.rcvoopack += 1;
            st.rcvoobyte += r.new_bytes as u64;
            if r.dup_bytes > 0 {
                st.rcvpartduppack += 1;
                st.rcvpartdupbyte += r.dup_bytes as u64;
            }
        } else if r.dup_bytes > 0 {
            st.rcvduppack += 1;
            st.rcvdupbyte += r.dup_bytes as u64;
        }
    }

    /// Takes the data contiguous from `rcv_nxt`: returns it, whether the FIN follows it,
    /// and `rcv_nxt` advanced over the data (not over the FIN: that is tcp input's FIN
    /// processing, which adds one).
    pub fn take_ready(&mut self, rcv_nxt: u32) -> (MbufChain, bool, u32) {
        let mut out = MbufChain::new();
        let mut nxt = rcv_nxt;
        while self.segs.front().is_some_and(|s| seq_leq(s.seq, nxt)) {
            let Some(mut seg) = self.segs.pop_front() else {
                break;
            };
            self.bytes -= seg.data.len();
            // Bytes below rcv_nxt were delivered some other way.
            let stale = dist(seg.seq, nxt).min(seg.data.len());
            seg.data.drop_front(stale);
            self.stat.rcvstalebyte += stale as u64;
            nxt = end_of(nxt, seg.data.len());
            out.concat(seg.data);
        }
        let fin = self.fin.is_some_and(|f| seq_leq(f, nxt));
        if fin {
            self.fin = None;
        }
        (out, fin, nxt)
    }

    /// The contiguous blocks of queued data, in sequence order, as `(left, right)`.
    fn blocks(&self) -> Vec<(u32, u32)> {
        let mut blocks: Vec<(u32, u32)> = Vec::new();
        for seg in &self.segs {
            match blocks.last_mut() {
                Some(last) if last.1 == seg.seq => last.1 = seg.end(),
                _ => blocks.push((seg.seq, seg.end())),
            }
        }
        blocks
    }

    /// Fills `out` with the SACK blocks to send, as the module docs order them, `None`
    /// after the last; returns how many. Give it three slots beside timestamps, four
    /// without (RFC 2018 section 3).
    pub fn sack_blocks(&self, out: &mut [Option<(u32, u32)>]) -> usize {
        out.fill(None);
        if self.segs.is_empty() || out.is_empty() {
            return 0;
        }
        let blocks = self.blocks();
        let mut n = 0;
        let recent = self.recent.iter().filter_map(|&s| {
            blocks
                .iter()
                .find(|&&(l, r)| seq_geq(s, l) && seq_lt(s, r))
                .copied()
        });
        for block in recent.chain(blocks.iter().copied()) {
            if n == out.len() {
                break;
            }
            if !out[..n].contains(&Some(block)) {
                out[n] = Some(block);
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kern::mbuf::MbufPool;
    use crate::wire::fuzz::XorShift64;

    fn pool() -> MbufPool {
        MbufPool::new(8192)
    }

    fn chain(pool: &MbufPool, data: &[u8]) -> MbufChain {
        MbufChain::from_slice(pool, data, 0).unwrap()
    }

    /// The stream byte at offset `i`.
    fn byte(i: usize) -> u8 {
        (i * 31 + i / 253) as u8
    }

    fn stream(len: usize) -> Vec<u8> {
        (0..len).map(byte).collect()
    }

    /// Checks the queue's invariants: ordered, non-overlapping, non-empty, counted.
    fn check(q: &TcpReass, rcv_nxt: u32) {
        let mut bytes = 0;
        let mut prev_end: Option<u32> = None;
        for seg in &q.segs {
            assert!(!seg.data.is_empty());
            assert!(seq_gt(seg.seq, rcv_nxt), "nothing ready is left behind");
            if let Some(e) = prev_end {
                assert!(seq_leq(e, seg.seq), "ordered and non-overlapping");
            }
            prev_end = Some(seg.end());
            bytes += seg.data.len();
        }
        assert_eq!(bytes, q.bytes());
        if let (Some(f), Some(e)) = (q.fin, prev_end) {
            assert!(seq_leq(e, f), "nothing past the FIN");
        }
    }

    /// Inserts, takes what is ready into `out`, checks invariants.
    fn feed(
        q: &mut TcpReass,
        pool: &MbufPool,
        isn: u32,
        rcv_nxt: &mut u32,
        out: &mut Vec<u8>,
        got_fin: &mut bool,
        (off, data, fin): (usize, &[u8], bool),
    ) -> ReassInsert {
        let r = q.insert(*rcv_nxt, end_of(isn, off), chain(pool, data), fin);
        let (ready, f, nxt) = q.take_ready(*rcv_nxt);
        assert_eq!(dist(*rcv_nxt, nxt), ready.len());
        out.extend_from_slice(&ready.to_vec());
        *rcv_nxt = nxt;
        if f {
            assert!(!*got_fin, "the FIN is reported once");
            *got_fin = true;
            // tcp input's FIN processing: the FIN takes a sequence number.
            *rcv_nxt = rcv_nxt.wrapping_add(1);
        }
        check(q, *rcv_nxt);
        r
    }

    #[test]
    fn in_order_and_out_of_order() {
        let pool = pool();
        let mut q = TcpReass::new();
        let data = stream(300);
        let isn = 1000;
        assert_eq!(
            q.insert(isn, isn + 100, chain(&pool, &data[100..200]), false)
                .new_bytes,
            100
        );
        assert_eq!((q.len(), q.bytes()), (1, 100));
        let (ready, fin, nxt) = q.take_ready(isn);
        assert!(ready.is_empty() && !fin);
        assert_eq!(nxt, isn);
        let r = q.insert(isn, isn + 200, chain(&pool, &data[200..]), true);
        assert!(r.fin && r.new_bytes == 100);
        assert_eq!(q.fin_seq(), Some(isn + 300));
        let r = q.insert(isn, isn, chain(&pool, &data[..100]), false);
        assert_eq!(r.new_bytes, 100);
        let (ready, fin, nxt) = q.take_ready(isn);
        assert_eq!(ready.to_vec(), data);
        assert!(fin);
        assert_eq!(nxt, isn + 300, "rcv_nxt covers the data, not the FIN");
        assert!(q.is_empty() && q.segs.is_empty() && q.bytes() == 0);
        assert_eq!(q.stat().rcvoopack, 3);
        assert_eq!(q.stat().rcvoobyte, 300);
    }

    #[test]
    fn duplicates_and_overlaps_are_trimmed_and_counted() {
        let pool = pool();
        let mut q = TcpReass::new();
        let data = stream(1000);
        let base = 0xffff_ff00u32; // the queue straddles the wrap
        let ins = |q: &mut TcpReass, a: usize, b: usize| {
            q.insert(base, end_of(base, a), chain(&pool, &data[a..b]), false)
        };
        assert_eq!(ins(&mut q, 100, 200).new_bytes, 100);
        // Exact duplicate.
        let r = ins(&mut q, 100, 200);
        assert!(r.is_duplicate() && r.dup_bytes == 100);
        // Inside.
        assert!(ins(&mut q, 120, 180).is_duplicate());
        // Overlapping the front and the back.
        let r = ins(&mut q, 50, 150);
        assert_eq!((r.new_bytes, r.dup_bytes), (50, 50));
        let r = ins(&mut q, 180, 260);
        assert_eq!((r.new_bytes, r.dup_bytes), (60, 20));
        assert_eq!((q.len(), q.bytes()), (3, 210));
        // Covering several queued segments: they are replaced.
        assert_eq!(ins(&mut q, 400, 450).new_bytes, 50);
        let r = ins(&mut q, 40, 500);
        assert_eq!((r.new_bytes, r.dup_bytes), (460 - 260, 260));
        assert_eq!((q.len(), q.bytes()), (1, 460));
        // Below rcv_nxt: delivered already.
        let r = q.insert(base, base.wrapping_sub(10), chain(&pool, &data[..5]), false);
        assert!(r.is_duplicate() && r.dup_bytes == 5);
        let st = q.stat().clone();
        assert_eq!(st.rcvduppack, 3);
        assert_eq!(st.rcvdupbyte, 100 + 60 + 5);
        assert_eq!(st.rcvpartduppack, 3);
        assert_eq!(st.rcvpartdupbyte, 50 + 20 + 260);
        let r = q.insert(base, base, chain(&pool, &data[..60]), false);
        assert_eq!((r.new_bytes, r.dup_bytes), (40, 20));
        let (ready, _, nxt) = q.take_ready(base);
        assert_eq!(ready.to_vec(), &data[..500]);
        assert_eq!(nxt, end_of(base, 500));
        assert_eq!(pool.stats().outstanding, ready.mbuf_count());
    }

    #[test]
    fn fin_position_is_kept_and_data_past_it_trimmed() {
        let pool = pool();
        let mut q = TcpReass::new();
        let data = stream(100);
        // Data queued beyond a FIN that arrives later is cut off.
        assert_eq!(
            q.insert(0, 60, chain(&pool, &data[60..]), false).new_bytes,
            40
        );
        let r = q.insert(0, 20, chain(&pool, &data[20..50]), true);
        assert!(r.fin);
        assert_eq!(r.after_fin_bytes, 40);
        assert_eq!(q.bytes(), 30);
        // Data past the FIN is trimmed on insert; a FIN elsewhere is ignored.
        let r = q.insert(0, 40, chain(&pool, &data[40..70]), true);
        assert_eq!((r.new_bytes, r.dup_bytes, r.after_fin_bytes), (0, 10, 20));
        assert!(!r.fin);
        assert_eq!(q.stat().rcvfinconflict, 1);
        assert_eq!(q.stat().rcvbyteafterfin, 60);
        // The same FIN again is a duplicate, not a conflict.
        let r = q.insert(0, 50, MbufChain::new(), true);
        assert!(!r.fin && r.is_duplicate());
        assert_eq!(q.stat().rcvfinconflict, 1);
        assert_eq!(q.fin_seq(), Some(50));
        let (ready, fin, nxt) = q.take_ready(0);
        assert!(ready.is_empty() && !fin && nxt == 0);
        let _ = q.insert(0, 0, chain(&pool, &data[..20]), false);
        let (ready, fin, nxt) = q.take_ready(0);
        assert_eq!(ready.to_vec(), &data[..50]);
        assert!(fin && nxt == 50);
        assert!(q.is_empty());
        // Retransmitted after it was taken (rcv_nxt is past it): ignored.
        let r = q.insert(51, 20, chain(&pool, &data[20..50]), true);
        assert!(r.is_duplicate() && r.dup_bytes == 30);
        assert!(q.is_empty());
        assert_eq!(q.stat().rcvfinconflict, 1);
        // A lone FIN at rcv_nxt.
        let r = q.insert(7, 7, MbufChain::new(), true);
        assert!(r.fin && !q.is_empty() && q.segs.is_empty());
        let (ready, fin, nxt) = q.take_ready(7);
        assert!(ready.is_empty() && fin && nxt == 7);
        // An empty segment without FIN does nothing.
        assert_eq!(
            q.insert(7, 9, MbufChain::new(), false),
            ReassInsert::default()
        );
        assert!(q.is_empty());
    }

    #[test]
    fn sack_blocks_most_recent_first() {
        let pool = pool();
        let mut q = TcpReass::new();
        let data = stream(1000);
        let ins = |q: &mut TcpReass, a: usize, b: usize| {
            let _ = q.insert(0, a as u32, chain(&pool, &data[a..b]), false);
        };
        let mut out = [None; 4];
        assert_eq!(q.sack_blocks(&mut out), 0);
        ins(&mut q, 100, 200);
        ins(&mut q, 300, 400);
        ins(&mut q, 500, 600);
        assert_eq!(q.sack_blocks(&mut out), 3);
        assert_eq!(
            out,
            [Some((500, 600)), Some((300, 400)), Some((100, 200)), None]
        );
        // A segment that extends a block puts the whole block first.
        ins(&mut q, 200, 250);
        let mut three = [None; 3];
        assert_eq!(q.sack_blocks(&mut three), 3);
        assert_eq!(
            three,
            [Some((100, 250)), Some((500, 600)), Some((300, 400))]
        );
        // A duplicate points at its block too (RFC 2018: the block holding the segment
        // that triggered the ACK).
        ins(&mut q, 320, 330);
        assert_eq!(q.sack_blocks(&mut three), 3);
        assert_eq!(three[0], Some((300, 400)));
        // Joining two blocks.
        ins(&mut q, 250, 300);
        assert_eq!(q.sack_blocks(&mut three), 2);
        assert_eq!(three, [Some((100, 400)), Some((500, 600)), None]);
        // Fewer slots than blocks: the most recent ones.
        for i in 0..6 {
            ins(&mut q, 700 + 40 * i, 710 + 40 * i);
        }
        let mut one = [None];
        assert_eq!(q.sack_blocks(&mut one), 1);
        assert_eq!(one, [Some((900, 910))]);
        // 14 blocks, 8 remembered inserts: the rest fill in lowest first.
        for i in 0..6 {
            ins(&mut q, 720 + 40 * i, 722 + 40 * i);
        }
        let mut many = [None; 12];
        assert_eq!(q.sack_blocks(&mut many), 12);
        assert_eq!(many[..2], [Some((920, 922)), Some((880, 882))]);
        assert_eq!(many[7], Some((860, 870)));
        assert_eq!(
            many[8..],
            [
                Some((100, 400)),
                Some((500, 600)),
                Some((700, 710)),
                Some((740, 750))
            ]
        );
        let mut all = [None; 20];
        assert_eq!(q.sack_blocks(&mut all), 14);
        assert!(all[14..].iter().all(Option::is_none));
        // Delivered blocks disappear.
        let _ = q.insert(0, 0, chain(&pool, &data[..100]), false);
        let (ready, _, nxt) = q.take_ready(0);
        assert_eq!((ready.len(), nxt), (400, 400));
        assert_eq!(q.sack_blocks(&mut three), 3);
        assert_eq!(
            three,
            [Some((920, 922)), Some((880, 882)), Some((840, 842))]
        );
        let mut all = [None; 20];
        assert_eq!(q.sack_blocks(&mut all), 13);
        assert!(!all.contains(&Some((100, 400))));
    }

    #[test]
    fn limits_refuse_whole_segments_but_never_the_next_one() {
        let pool = pool();
        let limits = TcpReassLimits {
            max_segs: 2,
            max_bytes: 150,
        };
        let mut q = TcpReass::with_limits(limits);
        assert_eq!(q.limits(), limits);
        let data = stream(1000);
        let ins = |q: &mut TcpReass, a: usize, b: usize| {
            q.insert(0, a as u32, chain(&pool, &data[a..b]), false)
        };
        assert!(!ins(&mut q, 100, 200).dropped);
        assert!(!ins(&mut q, 300, 340).dropped);
        let r = ins(&mut q, 500, 510);
        assert!(r.dropped && r.new_bytes == 0, "segment limit");
        assert_eq!((q.len(), q.bytes()), (2, 140));
        // Replacing 300..340 frees its 40 bytes, but 160 is still too many.
        let r = ins(&mut q, 290, 350);
        assert!(r.dropped, "byte limit");
        assert_eq!((q.len(), q.bytes()), (2, 140));
        // 150 is not.
        let r = ins(&mut q, 295, 345);
        assert!(!r.dropped);
        assert_eq!((r.new_bytes, r.dup_bytes), (10, 40));
        assert_eq!((q.len(), q.bytes()), (2, 150));
        assert_eq!(q.stat().rcvmemdrop, 2);
        assert_eq!(q.stat().rcvmemdropbyte, 70);
        // The segment at rcv_nxt always goes in, and drains the queue.
        let r = ins(&mut q, 0, 100);
        assert!(!r.dropped);
        let (ready, _, nxt) = q.take_ready(0);
        assert_eq!((ready.len(), nxt), (200, 200));
        // A dropped FIN is not recorded.
        let r = q.insert(200, 600, chain(&pool, &data[600..800]), true);
        assert!(r.dropped && !r.fin);
        assert_eq!(q.fin_seq(), None);
        q.set_limits(TcpReassLimits::default());
        q.clear();
        assert!(q.is_empty() && q.bytes() == 0);
        drop(ready);
        drop(q);
        assert_eq!(pool.stats().outstanding, 0);
    }

    #[test]
    fn stale_queued_data_below_rcv_nxt_is_skipped() {
        let pool = pool();
        let mut q = TcpReass::new();
        let data = stream(100);
        let _ = q.insert(0, 10, chain(&pool, &data[10..30]), false);
        let _ = q.insert(0, 40, chain(&pool, &data[40..60]), false);
        // tcp input delivered 0..50 itself.
        let (ready, fin, nxt) = q.take_ready(50);
        assert!(!fin);
        assert_eq!(ready.to_vec(), &data[50..60]);
        assert_eq!(nxt, 60);
        assert_eq!(q.stat().rcvstalebyte, 20 + 10);
        assert!(q.is_empty());
    }

    /// The model test: random segments with overlaps, duplicates and reordering, across
    /// the sequence wrap, always reassemble to the original stream.
    fn model(seed: u64, limits: TcpReassLimits) {
        let pool = pool();
        let mut rng = XorShift64::new(seed);
        let total = 20_000 + rng.below(5000);
        let data = stream(total);
        let isn = 0xffff_ffff_u32.wrapping_sub(rng.below(30_000) as u32);
        let mut q = TcpReass::with_limits(limits);
        let mut rcv_nxt = isn;
        let mut out = Vec::new();
        let mut got_fin = false;
        let random_segment = |rng: &mut XorShift64| {
            let off = rng.below(total);
            let max = if rng.below(8) == 0 { 4000 } else { 1460 };
            let len = 1 + rng.below(max);
            let end = (off + len).min(total);
            (off, end)
        };
        let mut last: Option<(usize, usize)> = None;
        for _ in 0..600 {
            // Sometimes an exact duplicate of the previous segment.
            let (off, end) = match last {
                Some(prev) if rng.below(6) == 0 => prev,
                _ => random_segment(&mut rng),
            };
            last = Some((off, end));
            let fin = end == total;
            let delivered = dist(isn, rcv_nxt);
            let r = feed(
                &mut q,
                &pool,
                isn,
                &mut rcv_nxt,
                &mut out,
                &mut got_fin,
                (off, &data[off..end], fin),
            );
            if !r.dropped {
                assert_eq!(
                    r.new_bytes + r.dup_bytes + r.after_fin_bytes,
                    end - off,
                    "every byte is accounted for"
                );
            }
            // The first SACK block holds the latest segment, unless it was delivered.
            let mut blocks = [None; 3];
            let n = q.sack_blocks(&mut blocks);
            assert!(n <= q.len());
            if !r.dropped && end > dist(isn, rcv_nxt) {
                let first = blocks[0].expect("a block for the new segment");
                let mark = end_of(isn, off.max(delivered));
                assert!(seq_geq(mark, first.0) && seq_lt(mark, first.1));
            }
            for b in blocks.iter().flatten() {
                assert!(seq_gt(b.0, rcv_nxt) && seq_lt(b.0, b.1));
            }
        }
        // Then the whole stream in order, in pieces, fills every hole.
        let mut off = 0;
        while off < total {
            let end = (off + 1 + rng.below(1460)).min(total);
            let _ = feed(
                &mut q,
                &pool,
                isn,
                &mut rcv_nxt,
                &mut out,
                &mut got_fin,
                (off, &data[off..end], end == total),
            );
            off = end;
        }
        assert_eq!(out.len(), total);
        assert!(out == data, "reassembled stream differs (seed {seed:#x})");
        assert!(got_fin);
        assert_eq!(rcv_nxt, end_of(isn, total + 1));
        assert!(q.is_empty());
        assert_eq!(pool.stats().outstanding, 0, "no cluster leaked");
    }

    #[test]
    fn model_random_segments_reassemble() {
        for seed in 1..=24u64 {
            model(seed * 0x9e37_79b9, TcpReassLimits::default());
        }
    }

    #[test]
    fn model_with_tight_limits_still_reassembles() {
        for seed in 1..=24u64 {
            let limits = TcpReassLimits {
                max_segs: 1 + (seed as usize % 5),
                max_bytes: 3000,
            };
            model(seed * 0x51ed_2701, limits);
        }
    }
}
