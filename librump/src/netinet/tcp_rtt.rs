//! The retransmission timeout of one connection: RFC 6298's estimator, Karn's rule and
//! exponential backoff (NetBSD: tcp_input.c tcp_xmit_timer, tcp_timer.c
//! tcp_timer_rexmt, tcp_var.h TCP_REXMTVAL).
//!
//! Times are in clock ticks of one millisecond ([`HZ`] = 1000), passed in by the caller
//! (STYLE.md habit 9). The estimator follows RFC 6298 section 2 exactly:
//!
//! - before any sample, RTO = 1 s (2.1);
//! - the first sample R sets SRTT = R, RTTVAR = R/2 (2.2);
//! - later ones set RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then SRTT = 7/8 SRTT + 1/8 R
//!   (2.3);
//! - RTO = SRTT + max(G, 4 RTTVAR) with a clock granularity G of one tick, rounded up to
//!   whole ticks and clamped to [`RttConfig::rto_min`] and [`RttConfig::rto_max`]
//!   (2.4, 2.5).
//!
//! SRTT and RTTVAR keep 16 fractional bits of a tick, so the 1/8 and 1/4 steps do not
//! truncate the way a whole-tick estimator would on sub-tick loopback RTTs.
//!
//! **The minimum RTO is 200 ms by default, not RFC 6298's 1 s.** Section 2.4 says RTO
//! SHOULD be rounded up to 1 s; NetBSD's TCPTV_MIN is 1 s too. This stack runs mostly
//! over loopback, memory links and LANs whose RTTs are well below a millisecond, where
//! one lost segment would stall a connection for a whole second; Linux (TCP_RTO_MIN)
//! and NetBSD's own tcp_rttmin knob choose 200 ms for that reason. RFC 6298 section 4
//! notes that timers finer than the 1 s bound are safe with a good estimator. The
//! minimum is a field of [`RttConfig`] so a conformance test can ask for 1 s.
//!
//! ## Samples: Karn's rule and timestamps
//!
//! Without timestamps one segment at a time is timed ([`TcpRtt::start_timing`], NetBSD
//! t_rtttime/t_rtseq), and an ACK beyond it gives the sample ([`TcpRtt::on_ack`]).
//! Karn's rule (RFC 6298 section 3): a retransmission makes the measurement ambiguous,
//! so [`TcpRtt::on_retransmit`] and [`TcpRtt::backoff`] cancel it. With timestamps
//! (RFC 7323 section 4) the echoed TSecr says which transmission is acknowledged, so
//! every ACK of new data gives a sample ([`TcpRtt::on_ack_timestamp`]), retransmitted
//! or not. (RFC 7323 appendix G suggests shrinking the gains when sampling every ACK;
//! like NetBSD and Linux, this does not.) A sample resets the backoff, as in NetBSD.
//!
//! ## Backoff
//!
//! Each retransmission timeout doubles the RTO in use ([`TcpRtt::rto_ticks`], RFC 6298
//! 5.5) up to [`RttConfig::rto_max`] (64 s, TCPTV_REXMTMAX). After
//! [`TCP_MAXRXTSHIFT`] backoffs the next one reports that the connection should be
//! dropped (`tcps_timeoutdrop`). After more than a quarter of them SRTT is discarded, as
//! RFC 6298 section 5 allows and NetBSD does, so the next sample starts afresh by (2.2);
//! the RTO in use stays until then.

use super::tcp_seq::{seq_gt, seq_sub};
use crate::kern::kern_clock::HZ;

/// Ticks in one second.
const SEC: u32 = HZ as u32;
/// Backoffs before the connection is dropped (NetBSD: TCP_MAXRXTSHIFT).
pub const TCP_MAXRXTSHIFT: u32 = 12;
/// The RTO before any sample (RFC 6298 2.1).
pub const TCP_RTO_INITIAL: u32 = SEC;
/// The default lowest RTO: 200 ms (see the module docs).
pub const TCP_RTO_MIN: u32 = SEC / 5;
/// The highest RTO, backoff included (NetBSD: TCPTV_REXMTMAX).
pub const TCP_RTO_MAX: u32 = 64 * SEC;
/// The RTO once data flows after a SYN timed out (RFC 6298 5.7).
pub const TCP_RTO_SYN_FALLBACK: u32 = 3 * SEC;
/// Fractional bits of SRTT and RTTVAR.
const FRAC: u32 = 16;

/// The knobs of the estimator, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttConfig {
    /// The lowest RTO (RFC 6298 2.4; see the module docs for the default).
    pub rto_min: u32,
    /// The highest RTO, backoff included (RFC 6298 2.5).
    pub rto_max: u32,
    /// The RTO before any sample (RFC 6298 2.1).
    pub rto_initial: u32,
    /// The clock granularity G (RFC 6298 2.3).
    pub granularity: u32,
}

impl Default for RttConfig {
    fn default() -> Self {
        RttConfig {
            rto_min: TCP_RTO_MIN,
            rto_max: TCP_RTO_MAX,
            rto_initial: TCP_RTO_INITIAL,
            granularity: 1,
        }
    }
}

/// The RTT estimator and retransmission backoff of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRtt {
    cfg: RttConfig,
    /// SRTT in ticks << FRAC; None before the first sample or after a discard.
    srtt: Option<u64>,
    /// RTTVAR in ticks << FRAC.
    rttvar: u64,
    /// The RTO before backoff, clamped (NetBSD: TCP_REXMTVAL).
    rto: u32,
    /// Backoffs since the last sample (NetBSD: t_rxtshift).
    rxtshift: u32,
    /// The segment being timed: its sequence number and when it was sent (NetBSD:
    /// t_rtseq, t_rtttime).
    timing: Option<(u32, u64)>,
}

impl Default for TcpRtt {
    fn default() -> Self {
        TcpRtt::new(RttConfig::default())
    }
}

impl TcpRtt {
    /// An estimator with no sample yet.
    pub fn new(cfg: RttConfig) -> Self {
        let mut rtt = TcpRtt {
            cfg,
            srtt: None,
            rttvar: 0,
            rto: 0,
            rxtshift: 0,
            timing: None,
        };
        rtt.rto = rtt.clamp(cfg.rto_initial);
        rtt
    }

    /// The configuration.
    pub fn config(&self) -> RttConfig {
        self.cfg
    }

    fn clamp(&self, ticks: u32) -> u32 {
        ticks.max(self.cfg.rto_min).min(self.cfg.rto_max)
    }

    /// The RTO to arm the retransmission timer with: the estimate doubled per backoff,
    /// at most `rto_max` (NetBSD: TCPT_RANGESET of TCP_REXMTVAL * tcp_backoff).
    pub fn rto_ticks(&self) -> u32 {
        let backed_off = u64::from(self.rto) << self.rxtshift.min(31);
        // The minimum applies before backoff only; the maximum after it.
        u32::try_from(backed_off.min(u64::from(self.cfg.rto_max))).unwrap_or(u32::MAX)
    }

    /// The RTO before backoff.
    pub fn base_rto_ticks(&self) -> u32 {
        self.rto
    }

    /// SRTT in whole ticks, rounded; None before the first sample or after a discard.
    pub fn srtt_ticks(&self) -> Option<u32> {
        self.srtt.map(to_ticks_round)
    }

    /// SRTT in microseconds (0 before the first sample), for TCP_INFO.
    pub fn srtt_usec(&self) -> u32 {
        let us = self.srtt.unwrap_or(0) * 1_000_000 / crate::kern::kern_clock::HZ;
        u32::try_from(us >> FRAC).unwrap_or(u32::MAX)
    }

    /// RTTVAR in microseconds, for TCP_INFO.
    pub fn rttvar_usec(&self) -> u32 {
        let us = self.rttvar * 1_000_000 / crate::kern::kern_clock::HZ;
        u32::try_from(us >> FRAC).unwrap_or(u32::MAX)
    }

    /// RTTVAR in whole ticks, rounded.
    pub fn rttvar_ticks(&self) -> u32 {
        to_ticks_round(self.rttvar)
    }

    /// Backoffs since the last sample.
    pub fn rxtshift(&self) -> u32 {
        self.rxtshift
    }

    /// Feeds one RTT measurement (RFC 6298 2.2-2.4), ends any timing, and resets the
    /// backoff (NetBSD: tcp_xmit_timer).
    pub fn sample(&mut self, rtt_ticks: u32) {
        let r = u64::from(rtt_ticks) << FRAC;
        let srtt = match self.srtt {
            None => {
                self.rttvar = r / 2;
                r
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (3 * self.rttvar + delta) / 4;
                (7 * srtt + r) / 8
            }
        };
        self.srtt = Some(srtt);
        let g = u64::from(self.cfg.granularity) << FRAC;
        let rto = srtt + g.max(4 * self.rttvar);
        let rto = u32::try_from(rto.div_ceil(1 << FRAC)).unwrap_or(u32::MAX);
        self.rto = self.clamp(rto);
        self.rxtshift = 0;
        self.timing = None;
    }

    /// Starts timing the segment that begins at `seq`, sent at `now`, unless one is
    /// being timed already (call it for segments of new data only); returns whether it
    /// started.
    pub fn start_timing(&mut self, seq: u32, now: u64) -> bool {
        if self.timing.is_some() {
            return false;
        }
        self.timing = Some((seq, now));
        true
    }

    /// Whether a segment is being timed.
    pub fn is_timing(&self) -> bool {
        self.timing.is_some()
    }

    /// Karn's rule: something was retransmitted, so the segment being timed may be
    /// acknowledged for a copy sent later; forget it.
    pub fn on_retransmit(&mut self) {
        self.timing = None;
    }

    /// An ACK up to `ack` arrived at `now` (no timestamps): if it covers the timed
    /// segment, takes the sample and returns it.
    pub fn on_ack(&mut self, ack: u32, now: u64) -> Option<u32> {
        let (seq, sent) = self.timing?;
        if !seq_gt(ack, seq) {
            return None;
        }
        let rtt = u32::try_from(now.saturating_sub(sent)).unwrap_or(u32::MAX);
        self.sample(rtt);
        Some(rtt)
    }

    /// An ACK of new data echoed `tsecr`, and the timestamp clock (in ticks) reads
    /// `ts_now`: takes the sample `ts_now - tsecr` and returns it (RFC 7323 section 4).
    /// A zero TSecr is ignored (NetBSD does the same: it may mean "none"), and so is one
    /// from the future.
    pub fn on_ack_timestamp(&mut self, tsecr: u32, ts_now: u32) -> Option<u32> {
        if tsecr == 0 {
            return None;
        }
        let rtt = u32::try_from(seq_sub(ts_now, tsecr)).ok()?;
        self.sample(rtt);
        Some(rtt)
    }

    /// The retransmission timer fired: doubles the RTO in use and cancels timing.
    /// Returns false, with the shift left at [`TCP_MAXRXTSHIFT`], when that many
    /// backoffs have passed already: the caller drops the connection
    /// (`tcps_timeoutdrop`).
    pub fn backoff(&mut self) -> bool {
        self.timing = None;
        if self.rxtshift >= TCP_MAXRXTSHIFT {
            return false;
        }
        self.rxtshift += 1;
        if self.rxtshift > TCP_MAXRXTSHIFT / 4 {
            // SRTT is probably stale: start afresh with the next sample (RFC 6298
            // section 5). The RTO in use stays.
            self.srtt = None;
        }
        true
    }

    /// Forgets the backoff without a sample (the caller's choice, e.g. when a
    /// retransmission proved spurious).
    pub fn reset_backoff(&mut self) {
        self.rxtshift = 0;
    }

    /// The handshake completed; if the SYN timed out at least once and the RTO is below
    /// 3 s, it becomes 3 s (RFC 6298 5.7).
    pub fn handshake_done(&mut self, syn_timed_out: bool) {
        if syn_timed_out && self.rto < TCP_RTO_SYN_FALLBACK {
            self.rto = self.clamp(TCP_RTO_SYN_FALLBACK);
        }
    }
}

/// Fixed-point ticks to whole ticks, rounded to nearest.
fn to_ticks_round(fixed: u64) -> u32 {
    u32::try_from((fixed + (1 << (FRAC - 1))) >> FRAC).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6298 in floating point, the reference.
    struct Reference {
        srtt: Option<f64>,
        rttvar: f64,
    }

    impl Reference {
        fn sample(&mut self, r: f64, cfg: RttConfig) -> f64 {
            match self.srtt {
                None => {
                    self.srtt = Some(r);
                    self.rttvar = r / 2.0;
                }
                Some(s) => {
                    self.rttvar = 0.75 * self.rttvar + 0.25 * (s - r).abs();
                    self.srtt = Some(0.875 * s + 0.125 * r);
                }
            }
            let rto = self.srtt.unwrap_or(0.0) + f64::from(cfg.granularity).max(4.0 * self.rttvar);
            rto.ceil()
                .max(f64::from(cfg.rto_min))
                .min(f64::from(cfg.rto_max))
        }
    }

    #[test]
    fn initial_rto_is_one_second() {
        let rtt = TcpRtt::default();
        assert_eq!(rtt.rto_ticks(), 1000);
        assert_eq!(rtt.srtt_ticks(), None);
        assert_eq!(rtt.rxtshift(), 0);
        assert!(!rtt.is_timing());
        assert_eq!(rtt.config(), RttConfig::default());
    }

    #[test]
    fn first_sample_rfc_6298_2_2() {
        let mut rtt = TcpRtt::default();
        rtt.sample(100);
        assert_eq!(rtt.srtt_ticks(), Some(100));
        assert_eq!(rtt.rttvar_ticks(), 50);
        assert_eq!(rtt.rto_ticks(), 100 + 4 * 50);
    }

    #[test]
    fn later_samples_rfc_6298_2_3() {
        let mut rtt = TcpRtt::default();
        rtt.sample(100);
        rtt.sample(200);
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200.
        assert_eq!(rtt.rttvar, 62 << FRAC | 1 << (FRAC - 1));
        assert_eq!(rtt.srtt, Some(112 << FRAC | 1 << (FRAC - 1)));
        assert_eq!(rtt.rto_ticks(), 363, "112.5 + 250, rounded up");
    }

    #[test]
    fn follows_the_reference_on_varied_samples() {
        for cfg in [
            RttConfig::default(),
            RttConfig {
                rto_min: 0,
                ..RttConfig::default()
            },
            RttConfig {
                rto_min: 1000,
                granularity: 10,
                ..RttConfig::default()
            },
        ] {
            let mut rtt = TcpRtt::new(cfg);
            let mut reference = Reference {
                srtt: None,
                rttvar: 0.0,
            };
            let mut x = 0x2545_f491_u64;
            for i in 0..2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly 20..60 ms, sometimes a spike, sometimes sub-tick.
                let r = match i % 50 {
                    0 => 900 + (x % 400) as u32,
                    1..=3 => 0,
                    _ => 20 + (x % 40) as u32,
                };
                rtt.sample(r);
                let expect = reference.sample(f64::from(r), cfg);
                let got = f64::from(rtt.rto_ticks());
                assert!((got - expect).abs() <= 1.0, "sample {i}: {got} vs {expect}");
                let srtt = reference.srtt.unwrap_or(0.0);
                assert!((f64::from(rtt.srtt_ticks().unwrap_or(0)) - srtt).abs() <= 1.0);
            }
        }
    }

    #[test]
    fn minimum_maximum_and_granularity() {
        let mut rtt = TcpRtt::default();
        rtt.sample(10);
        assert_eq!(rtt.rto_ticks(), TCP_RTO_MIN, "10 + 20 is below 200 ms");
        rtt.sample(200_000);
        assert_eq!(rtt.rto_ticks(), TCP_RTO_MAX);
        // Without a minimum, steady samples leave SRTT + G.
        let mut rtt = TcpRtt::new(RttConfig {
            rto_min: 0,
            ..RttConfig::default()
        });
        rtt.sample(10);
        assert_eq!(rtt.rto_ticks(), 30);
        for _ in 0..100 {
            rtt.sample(10);
        }
        assert_eq!(rtt.rttvar_ticks(), 0);
        assert_eq!(rtt.rto_ticks(), 11);
        // Zero-tick samples (loopback) still give at least G.
        for _ in 0..200 {
            rtt.sample(0);
        }
        assert_eq!(rtt.rto_ticks(), 1);
        // RFC 6298's own one-second floor.
        let rtt = TcpRtt::new(RttConfig {
            rto_min: 1000,
            rto_initial: 10,
            ..RttConfig::default()
        });
        assert_eq!(rtt.rto_ticks(), 1000, "the initial RTO is clamped too");
    }

    #[test]
    fn backoff_doubles_caps_and_gives_up() {
        let mut rtt = TcpRtt::default();
        rtt.sample(100);
        assert_eq!(rtt.rto_ticks(), 300);
        let mut seen = Vec::new();
        for _ in 0..TCP_MAXRXTSHIFT {
            assert!(rtt.backoff());
            seen.push(rtt.rto_ticks());
        }
        assert_eq!(
            seen,
            [600, 1200, 2400, 4800, 9600, 19200, 38400, 64000, 64000, 64000, 64000, 64000]
        );
        assert_eq!(rtt.rxtshift(), TCP_MAXRXTSHIFT);
        assert!(!rtt.backoff(), "the 13th timeout drops the connection");
        assert!(!rtt.backoff());
        assert_eq!(rtt.rxtshift(), TCP_MAXRXTSHIFT);
        assert_eq!(rtt.rto_ticks(), TCP_RTO_MAX);
        // A sample resets the backoff.
        rtt.sample(100);
        assert_eq!(rtt.rxtshift(), 0);
        assert!(rtt.rto_ticks() < 1000);
        // So does reset_backoff, keeping the estimate.
        assert!(rtt.backoff() && rtt.backoff());
        let base = rtt.base_rto_ticks();
        assert_eq!(rtt.rto_ticks(), 4 * base);
        rtt.reset_backoff();
        assert_eq!(rtt.rto_ticks(), base);
    }

    #[test]
    fn backoff_from_the_initial_rto() {
        let mut rtt = TcpRtt::default();
        let seen: Vec<u32> = (0..7)
            .map(|_| {
                assert!(rtt.backoff());
                rtt.rto_ticks()
            })
            .collect();
        assert_eq!(seen, [2000, 4000, 8000, 16000, 32000, 64000, 64000]);
    }

    #[test]
    fn many_backoffs_discard_srtt() {
        let mut rtt = TcpRtt::default();
        rtt.sample(400);
        rtt.sample(400);
        let base = rtt.base_rto_ticks();
        for _ in 0..TCP_MAXRXTSHIFT / 4 {
            assert!(rtt.backoff());
        }
        assert!(rtt.srtt_ticks().is_some());
        assert!(rtt.backoff());
        assert_eq!(
            rtt.srtt_ticks(),
            None,
            "discarded after more than 3 backoffs"
        );
        assert_eq!(rtt.base_rto_ticks(), base, "the RTO in use stays");
        // The next sample starts afresh (2.2), not from the old SRTT.
        rtt.sample(50);
        assert_eq!(rtt.srtt_ticks(), Some(50));
        assert_eq!(rtt.rttvar_ticks(), 25);
        assert_eq!(rtt.rto_ticks(), TCP_RTO_MIN);
    }

    #[test]
    fn karns_rule() {
        let mut rtt = TcpRtt::default();
        assert_eq!(rtt.on_ack(5, 10), None, "nothing timed");
        assert!(rtt.start_timing(1000, 100));
        assert!(!rtt.start_timing(1500, 110), "one segment at a time");
        assert_eq!(
            rtt.on_ack(1000, 150),
            None,
            "does not cover the timed segment"
        );
        assert!(rtt.is_timing());
        assert_eq!(rtt.on_ack(1001, 170), Some(70));
        assert!(!rtt.is_timing());
        assert_eq!(rtt.srtt_ticks(), Some(70));
        // A retransmission makes the timed segment ambiguous.
        assert!(rtt.start_timing(2000, 200));
        rtt.on_retransmit();
        assert_eq!(rtt.on_ack(3000, 900), None);
        assert_eq!(rtt.srtt_ticks(), Some(70));
        // So does a timeout.
        assert!(rtt.start_timing(3000, 1000));
        assert!(rtt.backoff());
        assert_eq!(rtt.on_ack(4000, 5000), None);
        assert_eq!(rtt.rxtshift(), 1, "no sample, so the backoff stays");
        // Across the sequence wrap.
        assert!(rtt.start_timing(0xffff_fff0, 6000));
        assert_eq!(rtt.on_ack(0x10, 6040), Some(40));
        assert_eq!(rtt.rxtshift(), 0);
    }

    #[test]
    fn timestamps_sample_every_ack() {
        let mut rtt = TcpRtt::default();
        assert!(rtt.start_timing(1, 0));
        assert_eq!(rtt.on_ack_timestamp(1000, 1040), Some(40));
        assert!(!rtt.is_timing(), "a timestamp sample ends classic timing");
        assert!(rtt.backoff());
        // Even after a retransmission: TSecr names the transmission.
        assert_eq!(rtt.on_ack_timestamp(2000, 2030), Some(30));
        assert_eq!(rtt.rxtshift(), 0);
        assert_eq!(rtt.on_ack_timestamp(0, 5000), None, "zero TSecr");
        assert_eq!(rtt.on_ack_timestamp(3000, 2999), None, "from the future");
        assert_eq!(rtt.on_ack_timestamp(0xffff_fff0, 0x10), Some(32));
        assert_eq!(rtt.on_ack_timestamp(7, 7), Some(0));
    }

    #[test]
    fn syn_timeout_sets_three_seconds() {
        let mut rtt = TcpRtt::default();
        rtt.sample(100);
        rtt.handshake_done(false);
        assert_eq!(rtt.rto_ticks(), 300);
        rtt.handshake_done(true);
        assert_eq!(rtt.rto_ticks(), 3000);
        let mut slow = TcpRtt::default();
        slow.sample(2000);
        let before = slow.rto_ticks();
        assert!(before > 3000);
        slow.handshake_done(true);
        assert_eq!(slow.rto_ticks(), before);
    }
}
