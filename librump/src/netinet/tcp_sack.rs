//! The sender's SACK scoreboard for SACK-based loss recovery (RFC 6675, with the
//! blocks of RFC 2018 and the D-SACK of RFC 2883; NetBSD and FreeBSD: tcp_sack.c).
//!
//! The scoreboard remembers which bytes between `snd_una` (RFC 6675 HighACK) and
//! `snd_max` (HighData) the receiver has reported holding, as a sorted list of
//! disjoint, non-adjacent SACKed ranges. The gaps between them are the holes; the
//! bytes above the highest SACKed range form the tail. Sequence numbers are compared
//! as offsets from `snd_una`, which is correct across wraparound because the whole
//! scoreboard lies within one window (less than 2^31 bytes).
//!
//! RFC 6675's inclusive "highest sequence number" variables are kept here as
//! exclusive ends: HighData is `snd_max`, HighRxt is the end of the highest
//! retransmitted byte range (initially `snd_una`), and the recovery point is the
//! `snd_max` at the start of recovery, which ends once `snd_una` reaches it.
//!
//! IsLost holds for whole holes at a time: every byte of a hole has the same SACKed
//! data above it. A hole is lost when at least [`TCP_DUPTHRESH`] SACKed ranges lie
//! above it, or more than (DupThresh - 1) * SMSS SACKed bytes do. The ranges are
//! counted after merging, so adjacent SACKed segments count once — RFC 6675's
//! "discontiguous SACKed sequences". Lost holes are always the lowest ones.
//!
//! Beyond RFC 6675, lost retransmissions are detected (as Linux and FreeBSD do): each
//! retransmission is logged with HighData at the time; once the receiver SACKs more
//! than (DupThresh - 1) * SMSS of data sent after it while the retransmitted bytes
//! stay unSACKed, it was lost, leaves the pipe, and is sent again before anything
//! else ([`SegKind::Relost`]). RFC 6675 alone leaves these to the retransmission
//! timer.
//!
//! Memory is bounded: at most [`TCP_SACK_MAXHOLES`] SACKed ranges (so as many holes)
//! are kept, 1 KiB per connection. A block that would start another range beyond the
//! cap is dropped and counted; forgetting SACK information is always safe (the data
//! is at worst retransmitted needlessly, and the pipe estimate only grows). Blocks
//! that overlap or touch ranges already kept are always merged.
//!
//! The sender drives it (RFC 6675 §5): on each ACK, [`SackScoreboard::update`] with
//! the cumulative ACK, then [`SackScoreboard::record`] with the ACK's SACK blocks;
//! [`SackScoreboard::enter_recovery`] when the duplicate ACK threshold is met (or
//! `is_lost(snd_una)`); while `cwnd - pipe() >= SMSS`, [`SackScoreboard::next_seg`],
//! transmit it, and report it with [`SackScoreboard::sent`]; on a timeout
//! [`SackScoreboard::on_rto`].

/// The most SACKed ranges (and so holes) kept per connection (FreeBSD: 128
/// holes, net.inet.tcp.sack.maxholes).
pub const TCP_SACK_MAXHOLES: usize = 128;

/// Duplicate ACK threshold, in segments (RFC 6675 DupThresh; NetBSD tcprexmtthresh).
pub const TCP_DUPTHRESH: u32 = 3;

// Sequence comparisons kept private here so the scoreboard stands alone; they are
// the same as tcp_seq's.

/// `a < b` in sequence space (RFC 9293 §3.4).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
fn seq_leq(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// `a > b` in sequence space.
fn seq_gt(a: u32, b: u32) -> bool {
    seq_lt(b, a)
}

/// `a >= b` in sequence space.
fn seq_geq(a: u32, b: u32) -> bool {
    seq_leq(b, a)
}

/// One SACK block: the bytes `start..end` (RFC 2018 left and right edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SackBlock {
    /// First byte held (left edge).
    pub start: u32,
    /// One past the last byte held (right edge).
    pub end: u32,
}

impl SackBlock {
    /// The block `start..end`.
    pub fn new(start: u32, end: u32) -> Self {
        SackBlock { start, end }
    }

    fn len(&self) -> u32 {
        self.end.wrapping_sub(self.start)
    }
}

impl From<(u32, u32)> for SackBlock {
    /// A block from the wire's `(left edge, right edge)` pair.
    fn from((start, end): (u32, u32)) -> Self {
        SackBlock { start, end }
    }
}

/// Which NextSeg rule chose a segment (RFC 6675 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegKind {
    /// Rule 1: the lowest unSACKed bytes above HighRxt that are lost.
    Lost,
    /// Rule 2: new data at `snd_max`.
    New,
    /// Rule 3: the lowest unSACKed bytes above HighRxt below the highest SACKed byte,
    /// lost or not.
    Unsacked,
    /// Rule 4: the rescue retransmission, one per recovery, of the highest outstanding
    /// unSACKed bytes.
    Rescue,
    /// Before rule 1: a retransmission found lost (data sent after it was SACKed while
    /// it was not), sent again.
    Relost,
}

/// A segment to send: `len` bytes (at most one SMSS) from `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextSeg {
    /// First sequence number.
    pub seq: u32,
    /// Length, bytes.
    pub len: u32,
    /// The rule that chose it.
    pub kind: SegKind,
}

impl NextSeg {
    /// One past the last sequence number.
    pub fn end(&self) -> u32 {
        self.seq.wrapping_add(self.len)
    }
}

/// What one ACK's SACK blocks did; the caller adds the counts to its statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackRecord {
    /// Bytes SACKed for the first time (non-zero makes the ACK a duplicate ACK in the
    /// sense of RFC 6675 §2).
    pub newly_sacked: u32,
    /// Blocks accepted.
    pub accepted: u32,
    /// D-SACK blocks (RFC 2883), reporting duplicates; ignored.
    pub dsack: u32,
    /// Blocks outside `snd_una..snd_max`, empty or inverted; ignored.
    pub bogus: u32,
    /// Blocks dropped because the scoreboard was full.
    pub capdrop: u32,
    /// Retransmissions found lost by this ACK.
    pub lost_rexmt: u32,
}

/// The SACK scoreboard of one connection (NetBSD: the sackhole list of a tcpcb).
#[derive(Clone, Debug)]
pub struct SackScoreboard {
    /// SACKed ranges above `snd_una`, ascending, disjoint and not adjacent.
    blocks: Vec<SackBlock>,
    /// Bytes in `blocks`.
    sacked: u32,
    /// HighACK, exclusive: the first unacknowledged byte.
    snd_una: u32,
    /// HighData, exclusive: `snd_max`.
    high_data: u32,
    /// HighRxt, exclusive: the end of the highest retransmission.
    high_rxt: u32,
    /// RescueRxt, once a rescue retransmission was sent in this recovery.
    rescue_rxt: Option<u32>,
    /// RecoveryPoint, exclusive.
    recovery_point: u32,
    /// In SACK-based loss recovery.
    in_recovery: bool,
    /// SMSS.
    mss: u32,
    /// Retransmissions in flight: `(start, end, HighData when sent)`, oldest first, at
    /// most [`TCP_SACK_MAXHOLES`].
    rxt_log: Vec<(u32, u32, u32)>,
    /// Retransmissions found lost, to send again first, ascending.
    relost: Vec<(u32, u32)>,
    /// Whether lost retransmissions are looked for (beyond RFC 6675; on by default).
    detect_relost: bool,
}

impl SackScoreboard {
    /// An empty scoreboard for a connection whose `snd_una` and `snd_max` are
    /// `snd_una`, sending segments of `mss` bytes.
    pub fn new(snd_una: u32, mss: u32) -> Self {
        SackScoreboard {
            blocks: Vec::new(),
            sacked: 0,
            snd_una,
            high_data: snd_una,
            high_rxt: snd_una,
            rescue_rxt: None,
            recovery_point: snd_una,
            in_recovery: false,
            mss: mss.max(1),
            rxt_log: Vec::new(),
            relost: Vec::new(),
            detect_relost: true,
        }
    }

    /// Turn lost retransmission detection on or off (off: RFC 6675 alone).
    pub fn set_lost_rexmt_detection(&mut self, on: bool) {
        self.detect_relost = on;
    }

    /// Change the SMSS (path MTU discovery, options).
    pub fn set_mss(&mut self, mss: u32) {
        self.mss = mss.max(1);
    }

    /// The offset of `seq` above `snd_una`.
    fn off(&self, seq: u32) -> u32 {
        seq.wrapping_sub(self.snd_una)
    }

    /// The cumulative ACK advanced to `snd_una`: forget what it covers. Returns true
    /// when this ends loss recovery (`snd_una` reached the recovery point, RFC 6675
    /// §5 step A). ACKs that do not advance change nothing.
    pub fn update(&mut self, snd_una: u32) -> bool {
        if !seq_gt(snd_una, self.snd_una) {
            return false;
        }
        self.snd_una = snd_una;
        if seq_lt(self.high_data, snd_una) {
            self.high_data = snd_una;
        }
        if seq_lt(self.high_rxt, snd_una) {
            self.high_rxt = snd_una;
        }
        // Ranges are ascending: the acknowledged ones are a prefix, and at most the
        // first survivor straddles snd_una.
        let gone = self.blocks.partition_point(|b| seq_leq(b.end, snd_una));
        for b in self.blocks.drain(..gone) {
            self.sacked -= b.len();
        }
        if let Some(b) = self.blocks.first_mut() {
            if seq_lt(b.start, snd_una) {
                self.sacked -= snd_una.wrapping_sub(b.start);
                b.start = snd_una;
            }
        }
        self.rxt_log.retain(|r| seq_gt(r.1, snd_una));
        self.relost.retain(|r| seq_gt(r.1, snd_una));
        for r in self.relost.iter_mut() {
            if seq_lt(r.0, snd_una) {
                r.0 = snd_una;
            }
        }
        if self.in_recovery && seq_geq(snd_una, self.recovery_point) {
            self.in_recovery = false;
            self.rescue_rxt = None;
            self.rxt_log.clear();
            self.relost.clear();
            return true;
        }
        false
    }

    /// Lost retransmission detection (as Linux's and FreeBSD's): a retransmission is
    /// lost when data sent after it has been SACKed by more than (DupThresh - 1) *
    /// SMSS while the retransmitted bytes are neither SACKed nor acknowledged. Without
    /// this only the retransmission timer would find it, which at a few per cent loss
    /// makes timeouts the bulk of recovery time.
    fn detect_lost_retransmissions(&mut self) -> u32 {
        let Some(top) = self.blocks.last().map(|b| b.end) else {
            return 0;
        };
        let margin = (TCP_DUPTHRESH - 1) * self.mss;
        let mut found = 0;
        let mut i = 0;
        while i < self.rxt_log.len() {
            let (start, end, hd) = self.rxt_log[i];
            if self.covered(start, end) {
                self.rxt_log.remove(i);
                continue;
            }
            if self.off(top) > self.off(hd).saturating_add(margin) {
                self.rxt_log.remove(i);
                let at = self
                    .relost
                    .partition_point(|r| self.off(r.0) < self.off(start));
                self.relost.insert(at, (start, end));
                found += 1;
                continue;
            }
            i += 1;
        }
        found
    }

    /// Whether `start..end` is wholly SACKed.
    fn covered(&self, start: u32, end: u32) -> bool {
        let (s, e) = (self.off(start), self.off(end));
        let i = self.blocks.partition_point(|b| self.off(b.end) <= s);
        self.blocks
            .get(i)
            .is_some_and(|b| self.off(b.start) <= s && self.off(b.end) >= e)
    }

    /// The probe timer fired in recovery: presume the oldest retransmission still out
    /// lost and queue it to be sent again. False when none is out.
    pub fn presume_oldest_retransmission_lost(&mut self) -> bool {
        while !self.rxt_log.is_empty() {
            let (start, end, _) = self.rxt_log.remove(0);
            if seq_leq(end, self.snd_una) || self.covered(start, end) {
                continue;
            }
            let at = self
                .relost
                .partition_point(|r| self.off(r.0) < self.off(start));
            self.relost.insert(at, (start, end));
            return true;
        }
        false
    }

    /// Bytes of found-lost retransmissions not yet sent again.
    pub fn relost_bytes(&self) -> u32 {
        self.relost.iter().map(|r| r.1.wrapping_sub(r.0)).sum()
    }

    /// Record the SACK blocks of an ACK whose cumulative acknowledgment is `th_ack`,
    /// sent while our `snd_max` was `snd_max` (call [`Self::update`] first). A first
    /// block below `th_ack` or inside the second block is a D-SACK; blocks not within
    /// `snd_una..snd_max` are bogus; both are counted and ignored.
    pub fn record(&mut self, th_ack: u32, snd_max: u32, blocks: &[SackBlock]) -> SackRecord {
        if seq_gt(snd_max, self.high_data) {
            self.high_data = snd_max;
        }
        let mut rec = SackRecord::default();
        for (i, b) in blocks.iter().enumerate() {
            if i == 0 && is_dsack(b, th_ack, blocks.get(1)) {
                rec.dsack += 1;
                continue;
            }
            if !(seq_lt(b.start, b.end)
                && seq_gt(b.start, self.snd_una)
                && seq_leq(b.end, self.high_data))
            {
                rec.bogus += 1;
                continue;
            }
            match self.insert(*b) {
                Some(n) => {
                    rec.accepted += 1;
                    rec.newly_sacked += n;
                }
                None => rec.capdrop += 1,
            }
        }
        if self.detect_relost && self.in_recovery && rec.newly_sacked > 0 {
            rec.lost_rexmt = self.detect_lost_retransmissions();
        }
        rec
    }

    /// Merge a valid block; the bytes it newly SACKs, or `None` if it would make a
    /// range beyond the cap.
    fn insert(&mut self, b: SackBlock) -> Option<u32> {
        let (s, e) = (self.off(b.start), self.off(b.end));
        // The ranges that overlap or touch s..e are contiguous in the list: from the
        // first ending at or after s to the last starting at or before e.
        let i = self.blocks.partition_point(|x| self.off(x.end) < s);
        let j = self.blocks.partition_point(|x| self.off(x.start) <= e);
        if i == j {
            if self.blocks.len() >= TCP_SACK_MAXHOLES {
                return None;
            }
            self.blocks.insert(i, b);
            self.sacked += b.len();
            return Some(b.len());
        }
        let first = self.blocks[i];
        let last = self.blocks[j - 1];
        let covered: u32 = self.blocks[i..j].iter().map(SackBlock::len).sum();
        let start = if self.off(first.start) < s {
            first.start
        } else {
            b.start
        };
        let end = if self.off(last.end) > e {
            last.end
        } else {
            b.end
        };
        let merged = SackBlock { start, end };
        self.blocks.splice(i..j, [merged]);
        let newly = merged.len() - covered;
        self.sacked += newly;
        Some(newly)
    }

    /// Whether a hole with `n` SACKed ranges and `bytes` SACKed bytes above it is lost.
    fn lost_above(&self, n: usize, bytes: u32) -> bool {
        n >= TCP_DUPTHRESH as usize || bytes > (TCP_DUPTHRESH - 1) * self.mss
    }

    /// The unSACKed stretches between `snd_una` and `snd_max` as offsets
    /// `(start, end, lost)`, ascending: the non-empty holes, then the tail (never lost).
    fn regions(&self) -> impl Iterator<Item = (u32, u32, bool)> + '_ {
        let mut prev = 0;
        let mut below = 0;
        let n = self.blocks.len();
        let tail_start = self.blocks.last().map_or(0, |b| self.off(b.end));
        let tail = (tail_start, self.off(self.high_data), false);
        self.blocks
            .iter()
            .enumerate()
            .map(move |(i, b)| {
                let hole = (prev, self.off(b.start));
                let lost = self.lost_above(n - i, self.sacked - below);
                prev = self.off(b.end);
                below += b.len();
                (hole.0, hole.1, lost)
            })
            .chain(std::iter::once(tail))
            .filter(|&(s, e, _)| s < e)
    }

    /// The holes only (below the highest SACKed byte).
    fn holes(&self) -> impl Iterator<Item = (u32, u32, bool)> + '_ {
        let top = self.blocks.last().map_or(0, |b| self.off(b.start));
        self.regions().filter(move |&(_, e, _)| e <= top)
    }

    /// A segment of at most one SMSS at offset `s`, not beyond offset `e`.
    fn seg(&self, s: u32, e: u32, kind: SegKind) -> NextSeg {
        NextSeg {
            seq: self.snd_una.wrapping_add(s),
            len: (e - s).min(self.mss),
            kind,
        }
    }

    /// RFC 6675 IsLost: whether `seq`, outstanding and not SACKed, has
    /// [`TCP_DUPTHRESH`] SACKed ranges or more than (DupThresh - 1) * SMSS SACKed bytes
    /// above it.
    pub fn is_lost(&self, seq: u32) -> bool {
        let o = self.off(seq);
        if o >= self.off(self.high_data) {
            return false;
        }
        let idx = self.blocks.partition_point(|b| self.off(b.end) <= o);
        if idx == self.blocks.len() || self.off(self.blocks[idx].start) <= o {
            // Above every SACKed range, or SACKed itself.
            return false;
        }
        let bytes = self.blocks[idx..].iter().map(SackBlock::len).sum();
        self.lost_above(self.blocks.len() - idx, bytes)
    }

    /// RFC 6675 NextSeg: the next segment to send during recovery, or `None`.
    /// `new_data` is how many bytes beyond `snd_max` the send buffer holds and the
    /// peer's window admits.
    pub fn next_seg(&self, new_data: u32) -> Option<NextSeg> {
        // First, a retransmission found lost (its SACKed parts are skipped).
        for &(start, end) in &self.relost {
            let (mut s, e) = (self.off(start), self.off(end));
            for b in &self.blocks {
                let (bs, be) = (self.off(b.start), self.off(b.end));
                if bs <= s && be > s {
                    s = be;
                }
            }
            if s < e {
                return Some(self.seg(s, e, SegKind::Relost));
            }
        }
        let hr = self.off(self.high_rxt);
        // Rule 1: the first lost bytes above HighRxt (lost holes are the lowest).
        for (s, e, lost) in self.holes() {
            if !lost {
                break;
            }
            if hr.max(s) < e {
                return Some(self.seg(hr.max(s), e, SegKind::Lost));
            }
        }
        // Rule 2: new data.
        if new_data > 0 {
            return Some(NextSeg {
                seq: self.high_data,
                len: new_data.min(self.mss),
                kind: SegKind::New,
            });
        }
        // Rule 3: any unSACKed bytes above HighRxt below the highest SACKed byte.
        if let Some((s, e, _)) = self.holes().find(|&(_, e, _)| hr < e) {
            return Some(self.seg(hr.max(s), e, SegKind::Unsacked));
        }
        // Rule 4: one rescue retransmission per recovery, ending at the highest
        // outstanding unSACKed byte.
        let rescue_ok = self.rescue_rxt.is_none_or(|r| seq_gt(self.snd_una, r));
        if self.in_recovery && rescue_ok {
            if let Some((s, e, _)) = self.regions().last() {
                let s = s.max(e.saturating_sub(self.mss));
                return Some(self.seg(s, e, SegKind::Rescue));
            }
        }
        None
    }

    /// `seg` (from [`Self::next_seg`] or [`Self::enter_recovery`], or new data sent
    /// otherwise, as [`SegKind::New`]) was transmitted: advance HighRxt, HighData or
    /// RescueRxt (RFC 6675 §5 steps C.2, C.3 and NextSeg rule 4).
    pub fn sent(&mut self, seg: &NextSeg) {
        let end = seg.end();
        if seg.kind != SegKind::New && self.rxt_log.len() < TCP_SACK_MAXHOLES {
            self.rxt_log.push((seg.seq, end, self.high_data));
        }
        match seg.kind {
            SegKind::Relost => {
                // Everything of the first found-lost range up to the segment's end
                // has gone out again (SACKed bytes below it were skipped).
                if let Some(r) = self.relost.first_mut() {
                    if seq_geq(end, r.1) {
                        self.relost.remove(0);
                    } else if seq_gt(end, r.0) {
                        r.0 = end;
                    }
                }
            }
            SegKind::New => {
                if seq_gt(end, self.high_data) {
                    self.high_data = end;
                }
            }
            SegKind::Lost | SegKind::Unsacked => {
                if seq_gt(end, self.high_rxt) {
                    self.high_rxt = end;
                }
            }
            SegKind::Rescue => self.rescue_rxt = Some(self.recovery_point),
        }
    }

    /// RFC 6675 SetPipe: bytes believed in the network. Every outstanding unSACKed
    /// byte not deemed lost counts once, and once more if it was retransmitted (is
    /// below HighRxt).
    pub fn pipe(&self) -> u32 {
        let hr = self.off(self.high_rxt);
        let p: u32 = self
            .regions()
            .map(|(s, e, lost)| {
                let once = if lost { 0 } else { e - s };
                once + hr.min(e).saturating_sub(s)
            })
            .sum();
        // Retransmissions found lost are not in the network.
        p.saturating_sub(self.relost_bytes())
    }

    /// Enter loss recovery (RFC 6675 §5 step 4): RecoveryPoint = HighData, HighRxt =
    /// HighACK, no rescue yet. Returns the first segment to retransmit, the one at
    /// `snd_una` (step 4.3), for the caller to send and report with [`Self::sent`].
    pub fn enter_recovery(&mut self) -> Option<NextSeg> {
        self.in_recovery = true;
        self.recovery_point = self.high_data;
        self.high_rxt = self.snd_una;
        self.rescue_rxt = None;
        let (s, e, _) = self.regions().next()?;
        (s == 0).then(|| self.seg(0, e, SegKind::Lost))
    }

    /// Whether a new recovery may start: not in one, and the cumulative ACK has
    /// passed the recovery point of the last (RFC 6675 §5.1 after a timeout).
    pub fn may_enter_recovery(&self) -> bool {
        !self.in_recovery && seq_geq(self.snd_una, self.recovery_point)
    }

    /// A retransmission timeout (RFC 6675 §5.1): recovery ends, RecoveryPoint becomes
    /// HighData and no new recovery starts before it is acknowledged. SACK information
    /// is kept; call [`Self::clear`] to discard it as RFC 2018 §8 allows.
    pub fn on_rto(&mut self) {
        self.rxt_log.clear();
        self.relost.clear();
        self.recovery_point = self.high_data;
        self.in_recovery = false;
        self.rescue_rxt = None;
        self.high_rxt = self.snd_una;
    }

    /// Forget all SACK information and retransmission marks, ending any recovery
    /// (the receiver may have reneged). The recovery point is kept.
    pub fn clear(&mut self) {
        self.rxt_log.clear();
        self.relost.clear();
        self.blocks.clear();
        self.sacked = 0;
        self.in_recovery = false;
        self.rescue_rxt = None;
        self.high_rxt = self.snd_una;
    }

    /// Bytes SACKed above `snd_una`.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// The SACKed ranges, ascending.
    pub fn blocks(&self) -> &[SackBlock] {
        &self.blocks
    }

    /// One past the highest SACKed byte, if any.
    pub fn highest_sacked(&self) -> Option<u32> {
        self.blocks.last().map(|b| b.end)
    }

    /// HighACK: `snd_una` as last reported.
    pub fn snd_una(&self) -> u32 {
        self.snd_una
    }

    /// HighData, exclusive.
    pub fn high_data(&self) -> u32 {
        self.high_data
    }

    /// HighRxt, exclusive.
    pub fn high_rxt(&self) -> u32 {
        self.high_rxt
    }

    /// RescueRxt, if a rescue retransmission was sent in this recovery.
    pub fn rescue_rxt(&self) -> Option<u32> {
        self.rescue_rxt
    }

    /// RecoveryPoint, exclusive.
    pub fn recovery_point(&self) -> u32 {
        self.recovery_point
    }

    /// Whether SACK-based loss recovery is in progress.
    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }
}

/// RFC 2883 §4: the first block reports a duplicate if the cumulative ACK covers it
/// or it lies within the second block.
fn is_dsack(b: &SackBlock, th_ack: u32, second: Option<&SackBlock>) -> bool {
    seq_lt(b.start, b.end)
        && (seq_leq(b.end, th_ack)
            || second.is_some_and(|s| seq_leq(s.start, b.start) && seq_leq(b.end, s.end)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const MSS: u32 = 1000;

    /// A scoreboard at `base` with `segs` segments outstanding.
    fn board(base: u32, segs: u32) -> SackScoreboard {
        let mut sb = SackScoreboard::new(base, MSS);
        sb.record(base, base.wrapping_add(segs * MSS), &[]);
        sb
    }

    /// SACK segments `a..b` (segment numbers from `base`).
    fn segs(base: u32, a: u32, b: u32) -> SackBlock {
        SackBlock::new(base.wrapping_add(a * MSS), base.wrapping_add(b * MSS))
    }

    #[test]
    fn a_lost_retransmission_is_found_and_sent_again_first() {
        let base: u32 = 0xffff_f000; // across the wrap
        let at = |n: u32| base.wrapping_add(n * MSS);
        let mut sb = board(base, 10);
        // Segment 0 is lost; 1..4 arrive: recovery retransmits 0.
        sb.record(base, at(10), &[SackBlock::new(at(1), at(4))]);
        let first = sb.enter_recovery().unwrap();
        assert_eq!((first.seq, first.kind), (base, SegKind::Lost));
        sb.sent(&first);
        // New data 10..14 goes out after the retransmission.
        for n in 10..14 {
            sb.sent(&NextSeg {
                seq: at(n),
                len: MSS,
                kind: SegKind::New,
            });
        }
        // One segment sent after it SACKed: not yet proof.
        let r = sb.record(base, at(14), &[SackBlock::new(at(1), at(11))]);
        assert_eq!(r.lost_rexmt, 0);
        assert_eq!(sb.relost_bytes(), 0);
        // Three: the retransmission of 0 was lost; it goes out before anything else,
        // and it no longer counts in the pipe.
        let pipe_before = sb.pipe();
        let r = sb.record(base, at(14), &[SackBlock::new(at(1), at(13))]);
        assert_eq!(r.lost_rexmt, 1);
        assert_eq!(sb.relost_bytes(), MSS);
        assert!(sb.pipe() < pipe_before);
        let again = sb.next_seg(MSS).unwrap();
        assert_eq!(
            (again.seq, again.len, again.kind),
            (base, MSS, SegKind::Relost)
        );
        sb.sent(&again);
        assert_eq!(sb.relost_bytes(), 0);
        // Its arrival ends recovery and forgets the log.
        assert!(sb.update(at(14)));
        assert_eq!(sb.next_seg(0), None);
        // With detection off the same sequence finds nothing.
        let mut sb = board(base, 10);
        sb.set_lost_rexmt_detection(false);
        sb.record(base, at(10), &[SackBlock::new(at(1), at(4))]);
        let first = sb.enter_recovery().unwrap();
        sb.sent(&first);
        let r = sb.record(base, at(14), &[SackBlock::new(at(1), at(13))]);
        assert_eq!(r.lost_rexmt, 0);
    }

    #[test]
    fn is_lost_needs_three_segments_or_ranges_above() {
        for base in [0, 7777, u32::MAX - 2500] {
            let mut sb = board(base, 10);
            // Segments 2, 3 and 4 arrive one by one (RFC 6675 §4, example).
            sb.record(base, base.wrapping_add(10 * MSS), &[segs(base, 2, 3)]);
            assert!(!sb.is_lost(base));
            sb.record(base, base.wrapping_add(10 * MSS), &[segs(base, 2, 4)]);
            // Two segments SACKed: exactly (DupThresh - 1) * SMSS, not more.
            assert!(!sb.is_lost(base));
            let rec = sb.record(base, base.wrapping_add(10 * MSS), &[segs(base, 4, 5)]);
            assert_eq!(rec.newly_sacked, MSS);
            assert_eq!(sb.blocks(), &[segs(base, 2, 5)]);
            assert!(sb.is_lost(base));
            assert!(sb.is_lost(base.wrapping_add(1999)));
            // SACKed bytes and bytes above every SACK are not lost.
            assert!(!sb.is_lost(base.wrapping_add(2000)));
            assert!(!sb.is_lost(base.wrapping_add(5000)));
            assert!(!sb.is_lost(base.wrapping_add(10 * MSS)));
            assert!(!sb.is_lost(base.wrapping_sub(1)));
        }
        // Three discontiguous ranges above, even tiny ones, make a loss.
        let mut sb = board(0, 10);
        let tiny = [
            SackBlock::new(1000, 1001),
            SackBlock::new(3000, 3001),
            SackBlock::new(5000, 5001),
        ];
        sb.record(0, 10_000, &tiny[..2]);
        assert!(!sb.is_lost(0));
        sb.record(0, 10_000, &tiny[2..]);
        assert!(sb.is_lost(0));
        assert!(!sb.is_lost(1500), "only two ranges above");
        assert_eq!(sb.sacked_bytes(), 3);
    }

    #[test]
    fn next_seg_follows_rules_one_to_four() {
        let mut sb = board(0, 10);
        // Segments 1, 3, 5 and 6 arrive; 0, 2, 4 and 7..10 do not.
        sb.record(0, 10_000, &[segs(0, 1, 2), segs(0, 3, 4), segs(0, 5, 7)]);
        assert_eq!(sb.sacked_bytes(), 4000);
        assert!(sb.is_lost(0) && sb.is_lost(2000));
        assert!(!sb.is_lost(4000) && !sb.is_lost(7000));
        // Not lost: hole 4 (1000) and the tail 7..10 (3000).
        assert_eq!(sb.pipe(), 4000);
        assert!(sb.may_enter_recovery());
        let first = sb.enter_recovery().unwrap();
        assert_eq!(
            first,
            NextSeg {
                seq: 0,
                len: 1000,
                kind: SegKind::Lost
            }
        );
        assert_eq!(sb.recovery_point(), 10_000);
        sb.sent(&first);
        assert_eq!(sb.high_rxt(), 1000);
        assert_eq!(sb.pipe(), 5000);
        // Rule 1: the next lost hole.
        let s = sb.next_seg(5000).unwrap();
        assert_eq!(
            s,
            NextSeg {
                seq: 2000,
                len: 1000,
                kind: SegKind::Lost
            }
        );
        sb.sent(&s);
        assert_eq!(sb.pipe(), 6000);
        // Rule 2: new data, at most one SMSS.
        let s = sb.next_seg(5000).unwrap();
        assert_eq!(
            s,
            NextSeg {
                seq: 10_000,
                len: 1000,
                kind: SegKind::New
            }
        );
        sb.sent(&s);
        assert_eq!(sb.high_data(), 11_000);
        assert_eq!(sb.pipe(), 7000);
        assert_eq!(sb.next_seg(300).unwrap().len, 300);
        // Rule 3: without new data, the unSACKed hole that is not lost yet.
        let s = sb.next_seg(0).unwrap();
        assert_eq!(
            s,
            NextSeg {
                seq: 4000,
                len: 1000,
                kind: SegKind::Unsacked
            }
        );
        sb.sent(&s);
        assert_eq!(sb.high_rxt(), 5000);
        assert_eq!(sb.pipe(), 8000);
        // Rule 4: one rescue of the highest outstanding unSACKed segment.
        let s = sb.next_seg(0).unwrap();
        assert_eq!(
            s,
            NextSeg {
                seq: 10_000,
                len: 1000,
                kind: SegKind::Rescue
            }
        );
        sb.sent(&s);
        assert_eq!(sb.rescue_rxt(), Some(10_000));
        assert_eq!(sb.high_rxt(), 5000, "a rescue does not move HighRxt");
        assert_eq!(sb.next_seg(0), None);
        // The cumulative ACK reaches the recovery point: recovery ends.
        assert!(!sb.update(9000));
        assert!(sb.in_recovery());
        assert!(sb.update(10_000));
        assert!(!sb.in_recovery());
        assert_eq!(sb.rescue_rxt(), None);
        assert_eq!(sb.sacked_bytes(), 0);
        assert_eq!(sb.next_seg(0), None);
    }

    #[test]
    fn segments_stay_inside_holes() {
        let mut sb = SackScoreboard::new(0, 1460);
        sb.record(
            0,
            20_000,
            &[SackBlock::new(500, 600), SackBlock::new(5000, 9000)],
        );
        let first = sb.enter_recovery().unwrap();
        assert_eq!((first.seq, first.len), (0, 500));
        sb.sent(&first);
        let s = sb.next_seg(0).unwrap();
        assert_eq!((s.seq, s.len, s.kind), (600, 1460, SegKind::Lost));
        sb.sent(&s);
        let s = sb.next_seg(0).unwrap();
        assert_eq!((s.seq, s.len), (2060, 1460));
        sb.sent(&s);
        let s = sb.next_seg(0).unwrap();
        assert_eq!((s.seq, s.len), (3520, 1460));
        sb.sent(&s);
        let s = sb.next_seg(0).unwrap();
        assert_eq!((s.seq, s.len), (4980, 20));
        sb.sent(&s);
        // The rescue ends at snd_max.
        let s = sb.next_seg(0).unwrap();
        assert_eq!((s.seq, s.len, s.kind), (18_540, 1460, SegKind::Rescue));
        // A rescue never reaches below the start of its stretch.
        let mut sb = board(0, 4);
        sb.record(0, 4000, &[SackBlock::new(1000, 3500)]);
        sb.enter_recovery();
        sb.sent(&NextSeg {
            seq: 0,
            len: 1000,
            kind: SegKind::Lost,
        });
        let s = sb.next_seg(0).unwrap();
        assert_eq!((s.seq, s.len, s.kind), (3500, 500, SegKind::Rescue));
        // With no SACK at all the first retransmission is the first segment.
        let mut sb = board(0, 4);
        assert_eq!(sb.enter_recovery().unwrap().len, MSS);
        assert_eq!(SackBlock::from((3, 9)), SackBlock::new(3, 9));
    }

    #[test]
    fn dsack_and_bogus_blocks_are_counted_and_ignored() {
        let mut sb = board(5000, 10);
        assert!(!sb.update(7000));
        let max = 5000 + 10 * MSS;
        // D-SACK below the cumulative ACK, then a D-SACK inside the second block.
        let rec = sb.record(7000, max, &[SackBlock::new(6000, 7000), segs(5000, 4, 5)]);
        assert_eq!((rec.dsack, rec.accepted, rec.newly_sacked), (1, 1, 1000));
        let rec = sb.record(
            7000,
            max,
            &[SackBlock::new(9100, 9200), SackBlock::new(9000, 9500)],
        );
        assert_eq!((rec.dsack, rec.accepted, rec.newly_sacked), (1, 1, 0));
        // A D-SACK only as the first block; later ones below snd_una are bogus.
        let bogus = [
            SackBlock::new(8000, 12_000),
            SackBlock::new(6000, 7000),
            SackBlock::new(7000, 8000),
            SackBlock::new(12_000, 16_000),
            SackBlock::new(10_000, 10_000),
            SackBlock::new(11_000, 10_500),
            SackBlock::new(6500, 7500),
        ];
        let rec = sb.record(7000, max, &bogus);
        assert_eq!((rec.dsack, rec.accepted, rec.bogus), (0, 1, 6));
        assert_eq!(rec.newly_sacked, 3000);
        assert_eq!(sb.blocks(), &[SackBlock::new(8000, 12_000)]);
        assert_eq!(sb.sacked_bytes(), 4000);
    }

    #[test]
    fn update_drops_acknowledged_state() {
        let mut sb = board(0, 10);
        sb.record(0, 10_000, &[segs(0, 2, 3), segs(0, 4, 6), segs(0, 8, 9)]);
        assert_eq!(sb.sacked_bytes(), 4000);
        // An old or duplicate ACK changes nothing.
        assert!(!sb.update(0));
        assert_eq!(sb.sacked_bytes(), 4000);
        sb.update(3000);
        assert_eq!(sb.blocks(), &[segs(0, 4, 6), segs(0, 8, 9)]);
        // A cumulative ACK into a SACKed range (after reneging) trims it.
        sb.update(5000);
        assert_eq!(sb.blocks(), &[segs(0, 5, 6), segs(0, 8, 9)]);
        assert_eq!(sb.sacked_bytes(), 2000);
        assert_eq!(sb.high_rxt(), 5000);
        sb.update(10_000);
        assert!(sb.blocks().is_empty());
        assert_eq!(sb.sacked_bytes(), 0);
        assert_eq!(sb.pipe(), 0);
        // An ACK beyond what we knew was sent moves HighData along.
        sb.update(12_000);
        assert_eq!(sb.high_data(), 12_000);
    }

    #[test]
    fn timeout_and_clear() {
        let mut sb = board(0, 10);
        sb.record(0, 10_000, &[segs(0, 1, 4)]);
        sb.enter_recovery();
        sb.record(0, 12_000, &[segs(0, 5, 6)]);
        sb.on_rto();
        assert!(!sb.in_recovery());
        assert_eq!(sb.recovery_point(), 12_000);
        assert_eq!(sb.sacked_bytes(), 4000, "SACK information survives");
        // No new recovery until the timeout's recovery point is acknowledged.
        sb.update(1000);
        assert!(!sb.may_enter_recovery());
        assert!(!sb.update(12_000), "not in recovery: nothing ends");
        assert!(sb.may_enter_recovery());
        let mut sb = board(0, 10);
        sb.record(0, 10_000, &[segs(0, 1, 4)]);
        sb.enter_recovery();
        sb.sent(&NextSeg {
            seq: 0,
            len: 1000,
            kind: SegKind::Lost,
        });
        sb.clear();
        assert_eq!((sb.sacked_bytes(), sb.blocks().len()), (0, 0));
        assert_eq!(sb.high_rxt(), 0);
        assert!(!sb.in_recovery() && !sb.is_lost(0));
        assert_eq!(sb.pipe(), 10_000);
    }

    #[test]
    fn scoreboard_is_bounded() {
        let n = TCP_SACK_MAXHOLES as u32;
        let max = 4 * (n + 2) * 100;
        let mut sb = SackScoreboard::new(0, 100);
        sb.record(0, max, &[]);
        for i in 0..n {
            let rec = sb.record(0, max, &[SackBlock::new(i * 400 + 100, i * 400 + 200)]);
            assert_eq!(rec.accepted, 1);
        }
        assert_eq!(sb.blocks().len(), TCP_SACK_MAXHOLES);
        // Another separate range is dropped and counted ...
        let rec = sb.record(0, max, &[SackBlock::new(n * 400 + 100, n * 400 + 200)]);
        assert_eq!((rec.capdrop, rec.accepted, rec.newly_sacked), (1, 0, 0));
        assert_eq!(sb.blocks().len(), TCP_SACK_MAXHOLES);
        // ... but blocks that extend or join ranges are still taken.
        let rec = sb.record(0, max, &[SackBlock::new(200, 500)]);
        assert_eq!((rec.accepted, rec.newly_sacked), (1, 300));
        assert_eq!(sb.blocks().len(), TCP_SACK_MAXHOLES - 1);
        let rec = sb.record(0, max, &[SackBlock::new(n * 400 + 100, n * 400 + 200)]);
        assert_eq!(rec.accepted, 1);
        assert_eq!(sb.sacked_bytes(), (n + 1) * 100 + 300);
    }

    /// A byte-by-byte model of RFC 6675's definitions, in unwrapped offsets.
    struct Model {
        base: u32,
        mss: u64,
        una: u64,
        max: u64,
        sacked: BTreeSet<u64>,
        high_rxt: u64,
        rescue: Option<u64>,
        rp: u64,
        in_rec: bool,
    }

    impl Model {
        fn seq(&self, o: u64) -> u32 {
            self.base.wrapping_add(o as u32)
        }

        fn lost(&self, x: u64) -> bool {
            if x < self.una || x >= self.max || self.sacked.contains(&x) {
                return false;
            }
            let above: Vec<u64> = self.sacked.range(x + 1..).copied().collect();
            let runs = above
                .iter()
                .enumerate()
                .filter(|&(i, &v)| i == 0 || above[i - 1] + 1 != v)
                .count();
            runs >= 3 || above.len() as u64 > 2 * self.mss
        }

        fn pipe(&self) -> u64 {
            (self.una..self.max)
                .filter(|x| !self.sacked.contains(x))
                .map(|x| u64::from(!self.lost(x)) + u64::from(x < self.high_rxt))
                .sum()
        }

        /// The run of unSACKed outstanding bytes from `x`, at most one SMSS.
        fn run(&self, x: u64) -> u64 {
            (x..self.max.min(x + self.mss))
                .take_while(|y| !self.sacked.contains(y))
                .count() as u64
        }

        fn next_seg(&self, new_data: u32) -> Option<(u64, u64, SegKind)> {
            let from = self.una.max(self.high_rxt);
            let top = self.sacked.last().copied();
            let below_top = |x: &u64| top.is_some_and(|t| *x < t);
            let unsacked = |x: &u64| !self.sacked.contains(x);
            if let Some(x) = (from..self.max).find(|&x| self.lost(x)) {
                return Some((x, self.run(x), SegKind::Lost));
            }
            if new_data > 0 {
                return Some((self.max, u64::from(new_data).min(self.mss), SegKind::New));
            }
            if let Some(x) = (from..self.max).filter(below_top).find(unsacked) {
                return Some((x, self.run(x), SegKind::Unsacked));
            }
            if self.in_rec && self.rescue.is_none_or(|r| self.una > r) {
                if let Some(x) = (self.una..self.max).rev().find(unsacked) {
                    let mut s = x;
                    while s > self.una && x + 1 - s < self.mss && unsacked(&(s - 1)) {
                        s -= 1;
                    }
                    return Some((s, x + 1 - s, SegKind::Rescue));
                }
            }
            None
        }
    }

    /// xorshift64: a reproducible stream without the rand crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            if n == 0 {
                0
            } else {
                self.next() % n
            }
        }
    }

    #[test]
    fn random_operations_match_a_bytewise_model() {
        // Windows of at most 200 bytes keep the ranges under the cap (100 at most).
        const WIN: u64 = 200;
        // Kinds sent (by SegKind order), D-SACKs, bogus blocks, recoveries entered,
        // lost bytes probed, most ranges held.
        let mut seen = [0u64; 9];
        for seed in 1..=12u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mss = 1 + rng.below(12);
            let base = u32::MAX - rng.below(3000) as u32;
            let mut sb = SackScoreboard::new(base, mss as u32);
            // The model is RFC 6675's alone.
            sb.set_lost_rexmt_detection(false);
            let mut m = Model {
                base,
                mss,
                una: 0,
                max: 0,
                sacked: BTreeSet::new(),
                high_rxt: 0,
                rescue: None,
                rp: 0,
                in_rec: false,
            };
            for step in 0..4000 {
                let ctx = format!("seed {seed} step {step}");
                match rng.below(10) {
                    0 | 1 => {
                        // Send new data.
                        let len = 1 + rng.below(3 * mss);
                        if m.max - m.una + len <= WIN {
                            let seg = NextSeg {
                                seq: m.seq(m.max),
                                len: len as u32,
                                kind: SegKind::New,
                            };
                            if rng.below(2) == 0 {
                                sb.sent(&seg);
                            } else {
                                sb.record(sb.snd_una(), m.seq(m.max + len), &[]);
                            }
                            m.max += len;
                        }
                    }
                    2..=5 => {
                        // An ACK, maybe old, maybe advancing, with up to four blocks.
                        let th_ack = if rng.below(4) == 0 {
                            m.una.saturating_sub(rng.below(10))
                        } else {
                            m.una + rng.below((m.max - m.una) / 3 + 1)
                        };
                        let ended = sb.update(m.seq(th_ack));
                        let mut m_ended = false;
                        if th_ack > m.una {
                            m.una = th_ack;
                            m.sacked = m.sacked.split_off(&th_ack);
                            m.high_rxt = m.high_rxt.max(th_ack);
                            if m.in_rec && th_ack >= m.rp {
                                m.in_rec = false;
                                m.rescue = None;
                                m_ended = true;
                            }
                        }
                        assert_eq!(ended, m_ended, "{ctx}");
                        let mut offs = Vec::new();
                        for _ in 0..rng.below(5) {
                            offs.push(match rng.below(8) {
                                // Below the cumulative ACK: a D-SACK if first.
                                0 => {
                                    let e = th_ack.saturating_sub(rng.below(5));
                                    (e.saturating_sub(1 + rng.below(5)), e)
                                }
                                // Past snd_max, or inverted.
                                1 => (m.max - rng.below(4), m.max + 1 + rng.below(4)),
                                2 => (m.una + 5, m.una + 2),
                                _ => {
                                    let s = m.una + rng.below(m.max - m.una + 1);
                                    (s, s + 1 + rng.below(2 * mss))
                                }
                            });
                        }
                        let blocks: Vec<SackBlock> = offs
                            .iter()
                            .map(|&(s, e)| SackBlock::new(m.seq(s), m.seq(e)))
                            .collect();
                        // The model's own classification, block by block.
                        let (mut dsack, mut bogus, mut newly) = (0, 0, 0);
                        for (i, &(s, e)) in offs.iter().enumerate() {
                            let in_second = offs.get(1).is_some_and(|&(s2, e2)| s2 <= s && e <= e2);
                            if i == 0 && s < e && (e <= th_ack || in_second) {
                                dsack += 1;
                                continue;
                            }
                            if !(s < e && s > m.una && e <= m.max) {
                                bogus += 1;
                                continue;
                            }
                            for x in s..e {
                                if m.sacked.insert(x) {
                                    newly += 1;
                                }
                            }
                        }
                        let rec = sb.record(m.seq(th_ack), m.seq(m.max), &blocks);
                        seen[4] += u64::from(rec.dsack);
                        seen[5] += u64::from(rec.bogus);
                        assert_eq!(
                            (
                                rec.dsack,
                                rec.bogus,
                                u64::from(rec.newly_sacked),
                                rec.capdrop
                            ),
                            (dsack, bogus, newly, 0),
                            "{ctx} {blocks:?} una {}",
                            m.una
                        );
                    }
                    6 => {
                        if sb.may_enter_recovery() && rng.below(2) == 0 {
                            assert!(!m.in_rec && m.una >= m.rp, "{ctx}");
                            let first = sb.enter_recovery();
                            seen[6] += 1;
                            m.in_rec = true;
                            m.rp = m.max;
                            m.high_rxt = m.una;
                            m.rescue = None;
                            let want = (m.una < m.max && !m.sacked.contains(&m.una))
                                .then(|| (m.una, m.run(m.una), SegKind::Lost));
                            let got = first.map(|s| {
                                (
                                    u64::from(s.seq.wrapping_sub(base)),
                                    u64::from(s.len),
                                    s.kind,
                                )
                            });
                            assert_eq!(got, want, "{ctx}");
                        }
                    }
                    7 | 8 => {
                        // Often nothing new to send, so rules 3 and 4 get their turn.
                        let room = WIN - (m.max - m.una);
                        let new_data = (rng.below(2) * rng.below(room + 1)) as u32;
                        let got = sb.next_seg(new_data).map(|s| {
                            (
                                u64::from(s.seq.wrapping_sub(base)),
                                u64::from(s.len),
                                s.kind,
                            )
                        });
                        assert_eq!(got, m.next_seg(new_data), "{ctx}");
                        if let (Some(s), true) = (sb.next_seg(new_data), rng.below(4) != 0) {
                            seen[s.kind as usize] += 1;
                            sb.sent(&s);
                            let (o, len, _) = got.unwrap();
                            match s.kind {
                                SegKind::New => m.max = m.max.max(o + len),
                                SegKind::Lost | SegKind::Unsacked => {
                                    m.high_rxt = m.high_rxt.max(o + len)
                                }
                                SegKind::Rescue => m.rescue = Some(m.rp),
                                SegKind::Relost => unreachable!("detection is off"),
                            }
                        }
                    }
                    _ => {
                        if rng.below(3) == 0 {
                            sb.clear();
                            m.sacked.clear();
                        } else {
                            sb.on_rto();
                            m.rp = m.max;
                        }
                        m.in_rec = false;
                        m.rescue = None;
                        m.high_rxt = m.una;
                    }
                }
                // The observable state agrees.
                assert_eq!(u64::from(sb.sacked_bytes()), m.sacked.len() as u64, "{ctx}");
                assert_eq!(u64::from(sb.pipe()), m.pipe(), "{ctx}");
                assert_eq!(sb.in_recovery(), m.in_rec, "{ctx}");
                assert_eq!(sb.high_data(), m.seq(m.max), "{ctx}");
                assert_eq!(sb.high_rxt(), m.seq(m.high_rxt), "{ctx}");
                let mut runs = Vec::new();
                for &x in &m.sacked {
                    match runs.last_mut() {
                        Some((_, e)) if *e == x => *e += 1,
                        _ => runs.push((x, x + 1)),
                    }
                }
                let got: Vec<(u64, u64)> = sb
                    .blocks()
                    .iter()
                    .map(|b| {
                        let s = u64::from(b.start.wrapping_sub(base));
                        (s, s + u64::from(b.len()))
                    })
                    .collect();
                assert_eq!(got, runs, "{ctx}");
                for _ in 0..4 {
                    let x = (m.una + rng.below(m.max - m.una + 4)).saturating_sub(2);
                    assert_eq!(sb.is_lost(m.seq(x)), m.lost(x), "{ctx} x {x}");
                    seen[7] += u64::from(m.lost(x));
                }
                seen[8] = seen[8].max(sb.blocks().len() as u64);
            }
        }
        // Every rule, D-SACKs, bogus blocks, recoveries and losses were exercised.
        assert!(seen[..8].iter().all(|&n| n > 20), "{seen:?}");
        assert!(seen[8] >= 5, "{seen:?}");
    }
}
