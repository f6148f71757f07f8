//! Initial sequence numbers and SYN cookies (NetBSD: tcp_subr.c tcp_new_iss1,
//! FreeBSD: tcp_syncache.c syncookies), keyed with SipHash-2-4.
//!
//! ISNs follow RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
//! secretkey), where M is a clock ticking every 4 µs and F a keyed pseudo-random
//! function. M comes from the tick counter passed in (the core never reads a clock):
//! [`ISN_M_PER_TICK`] steps per 1 ms tick, so successive connections of one 4-tuple
//! get increasing ISNs (old duplicates stay out of the new window) while an off-path
//! attacker who does not know the secret cannot predict any of them.
//!
//! A SYN cookie is our ISS when the SYN queue is full: 32 bits that let the final ACK
//! of the handshake prove it answers our SYN-ACK, with no state kept. Its layout:
//!
//! ```text
//!  31                               8 7   6 5    3 2   0
//! +----------------------------------+-----+------+-----+
//! |  MAC (24 bits)                   |  payload XOR pad  |
//! +----------------------------------+-----+------+-----+
//!        payload: | time (2) | mss index (3) | 0 (3) |
//! ```
//!
//! The MAC is SipHash over the 4-tuple, the peer's ISN, the whole coarse time counter
//! and the payload; the pad is SipHash over the 4-tuple and the peer's ISN alone, so
//! the MSS and time bits are not readable on the wire. The time counter steps every
//! [`SYNCOOKIE_PERIOD`] ticks; the low two bits carried in the cookie pick the full
//! counter back out, and a cookie is accepted up to [`SYNCOOKIE_MAXAGE`] periods after
//! the one it was made in. A forgery must match 24 MAC bits and 3 zero bits: about
//! one chance in 2^27 per guess. As in FreeBSD and Linux in spirit, not bit for bit.
//!
//! Keys come from the host's random source through the rumpuser hypercalls; the ISN
//! and cookie keys should be separate (the domain byte in each hash keeps them apart
//! even when they are not).

use std::net::Ipv4Addr;

use crate::kern::kern_clock::HZ;

/// Steps of the RFC 6528 4 µs clock M per tick.
pub const ISN_M_PER_TICK: u32 = (1_000_000 / HZ / 4) as u32;

/// Ticks per step of the SYN cookie time counter: 16 seconds.
pub const SYNCOOKIE_PERIOD: u64 = 16 * HZ;

/// Periods after the one a cookie was made in during which it is accepted: a cookie
/// lives between 48 and 64 seconds. At most 3 (two bits of time in the cookie).
pub const SYNCOOKIE_MAXAGE: u32 = 3;

/// The MSS values a cookie can carry, by index (3 bits): common path MSSes, from a
/// minimal link to Ethernet jumbo frames.
pub const SYNCOOKIE_MSSTAB: [u16; 8] = [216, 536, 1200, 1360, 1400, 1440, 1460, 8960];

/// Domain bytes, so the same key never produces related values for different uses.
const DOMAIN_ISN: u8 = b'I';
const DOMAIN_COOKIE_MAC: u8 = b'C';
const DOMAIN_COOKIE_PAD: u8 = b'P';

/// A 128-bit SipHash key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SipKey {
    k0: u64,
    k1: u64,
}

impl SipKey {
    /// A key from its two halves.
    pub const fn new(k0: u64, k1: u64) -> Self {
        SipKey { k0, k1 }
    }

    /// A key from 16 bytes (as the reference implementation reads them: two
    /// little-endian halves).
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let mut k0 = [0; 8];
        let mut k1 = [0; 8];
        k0.copy_from_slice(&b[..8]);
        k1.copy_from_slice(&b[8..]);
        SipKey {
            k0: u64::from_le_bytes(k0),
            k1: u64::from_le_bytes(k1),
        }
    }
}

impl std::fmt::Debug for SipKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A secret: never in logs.
        f.write_str("SipKey(..)")
    }
}

/// The SipHash state v0..v3.
struct Sip([u64; 4]);

impl Sip {
    fn round(&mut self) {
        let v = &mut self.0;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    /// Absorb one 64-bit word with two compression rounds.
    fn compress(&mut self, m: u64) {
        self.0[3] ^= m;
        self.round();
        self.round();
        self.0[0] ^= m;
    }
}

/// SipHash-2-4 of `msg` under `key` (Aumasson and Bernstein, 2012).
pub fn siphash24(key: &SipKey, msg: &[u8]) -> u64 {
    let mut s = Sip([
        key.k0 ^ 0x736f_6d65_7073_6575,
        key.k1 ^ 0x646f_7261_6e64_6f6d,
        key.k0 ^ 0x6c79_6765_6e65_7261,
        key.k1 ^ 0x7465_6462_7974_6573,
    ]);
    let mut words = msg.chunks_exact(8);
    for w in &mut words {
        let mut b = [0; 8];
        b.copy_from_slice(w);
        s.compress(u64::from_le_bytes(b));
    }
    // The last word: the remaining bytes, and the length mod 256 in the top byte.
    let mut last = [0; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = msg.len() as u8;
    s.compress(u64::from_le_bytes(last));
    s.0[2] ^= 0xff;
    for _ in 0..4 {
        s.round();
    }
    s.0[0] ^ s.0[1] ^ s.0[2] ^ s.0[3]
}

/// A connection's addresses and ports, as seen from this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpTuple {
    /// Local address.
    pub laddr: Ipv4Addr,
    /// Local port.
    pub lport: u16,
    /// Remote (foreign) address.
    pub faddr: Ipv4Addr,
    /// Remote port.
    pub fport: u16,
}

/// The message hashed for `t`, `domain` and `irs`, with room for `extra`.
fn message(domain: u8, t: &TcpTuple, irs: u32, extra: &[u8]) -> ([u8; 24], usize) {
    let mut m = [0; 24];
    m[0] = domain;
    m[1..5].copy_from_slice(&t.laddr.octets());
    m[5..7].copy_from_slice(&t.lport.to_be_bytes());
    m[7..11].copy_from_slice(&t.faddr.octets());
    m[11..13].copy_from_slice(&t.fport.to_be_bytes());
    m[13..17].copy_from_slice(&irs.to_be_bytes());
    let n = 17 + extra.len().min(7);
    m[17..n].copy_from_slice(&extra[..n - 17]);
    (m, n)
}

/// The initial send sequence number for a new connection on `t` at tick `now`
/// (RFC 6528 §3; NetBSD: tcp_new_iss1).
pub fn tcp_new_iss(secret: &SipKey, t: &TcpTuple, now: u64) -> u32 {
    let (m, n) = message(DOMAIN_ISN, t, 0, &[]);
    let f = siphash24(secret, &m[..n]) as u32;
    // M modulo 2^32: the low 32 bits of the tick counter carry all that matters.
    (now as u32).wrapping_mul(ISN_M_PER_TICK).wrapping_add(f)
}

/// The SYN cookie time counter at tick `now`.
pub fn syncookie_counter(now: u64) -> u32 {
    (now / SYNCOOKIE_PERIOD) as u32
}

/// The index in [`SYNCOOKIE_MSSTAB`] of the largest MSS not above `mss` (the
/// smallest entry if all are).
pub fn syncookie_mss_index(mss: u16) -> u8 {
    SYNCOOKIE_MSSTAB
        .iter()
        .rposition(|&m| m <= mss)
        .unwrap_or(0) as u8
}

/// The low byte's pad for `t` and `irs`.
fn cookie_pad(key: &SipKey, t: &TcpTuple, irs: u32) -> u8 {
    let (m, n) = message(DOMAIN_COOKIE_PAD, t, irs, &[]);
    siphash24(key, &m[..n]) as u8
}

/// The cookie's top 24 bits for a payload made at `counter`.
fn cookie_mac(key: &SipKey, t: &TcpTuple, irs: u32, counter: u32, payload: u8) -> u32 {
    let c = counter.to_be_bytes();
    let (m, n) = message(
        DOMAIN_COOKIE_MAC,
        t,
        irs,
        &[c[0], c[1], c[2], c[3], payload],
    );
    ((siphash24(key, &m[..n]) >> 32) as u32) & 0xffff_ff00
}

/// The SYN cookie to use as our ISS in the SYN-ACK answering a SYN on `t` whose
/// sequence number is `irs`, carrying MSS index `mss_index` (indices past the table
/// mean its last entry) and made at time counter `counter` ([`syncookie_counter`]).
pub fn syncookie_make(key: &SipKey, t: &TcpTuple, irs: u32, mss_index: u8, counter: u32) -> u32 {
    let idx = mss_index.min(SYNCOOKIE_MSSTAB.len() as u8 - 1);
    let payload = ((counter & 3) as u8) << 6 | idx << 3;
    cookie_mac(key, t, irs, counter, payload) | u32::from(payload ^ cookie_pad(key, t, irs))
}

/// Check the cookie returned by the final ACK of a handshake on `t` (`cookie` is the
/// ACK's acknowledgment number minus one, `irs` its sequence number minus one) at
/// time counter `counter`. Returns the MSS it carries, or `None` if it was not made
/// by us for this connection within the last [`SYNCOOKIE_MAXAGE`] periods.
pub fn syncookie_check(
    key: &SipKey,
    t: &TcpTuple,
    irs: u32,
    cookie: u32,
    counter: u32,
) -> Option<u16> {
    let payload = (cookie as u8) ^ cookie_pad(key, t, irs);
    if payload & 7 != 0 {
        return None;
    }
    let age = counter.wrapping_sub(u32::from(payload >> 6)) & 3;
    if age > SYNCOOKIE_MAXAGE {
        return None;
    }
    let made = counter.wrapping_sub(age);
    if cookie_mac(key, t, irs, made, payload) != cookie & 0xffff_ff00 {
        return None;
    }
    Some(SYNCOOKIE_MSSTAB[usize::from((payload >> 3) & 7)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64, for reproducible random inputs.
    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    fn tuple() -> TcpTuple {
        TcpTuple {
            laddr: Ipv4Addr::new(10, 0, 0, 1),
            lport: 80,
            faddr: Ipv4Addr::new(192, 0, 2, 7),
            fport: 49152,
        }
    }

    const KEY: SipKey = SipKey::new(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);

    #[test]
    fn siphash_reference_vectors() {
        // SipHash-2-4 test vectors from the paper's reference implementation
        // (vectors.h): key 00 01 .. 0f, message 00 01 .. (len - 1), output as bytes.
        const VECTORS: [[u8; 8]; 16] = [
            [0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72],
            [0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74],
            [0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d],
            [0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85],
            [0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf],
            [0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18],
            [0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb],
            [0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab],
            [0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93],
            [0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e],
            [0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a],
            [0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4],
            [0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75],
            [0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14],
            [0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7],
            [0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1],
        ];
        let mut kb = [0u8; 16];
        for (i, b) in kb.iter_mut().enumerate() {
            *b = i as u8;
        }
        let key = SipKey::from_bytes(&kb);
        assert_eq!(
            key,
            SipKey::new(0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)
        );
        let msg: Vec<u8> = (0..16).collect();
        for (len, want) in VECTORS.iter().enumerate() {
            let got = siphash24(&key, &msg[..len]).to_le_bytes();
            assert_eq!(&got, want, "length {len}");
        }
        // The paper's worked example (appendix A): 15 bytes, a129ca6149be45e5.
        assert_eq!(siphash24(&key, &msg[..15]), 0xa129_ca61_49be_45e5);
    }

    #[test]
    #[allow(deprecated)]
    fn siphash_matches_std_siphasher() {
        use std::hash::Hasher;
        // std's (deprecated) SipHasher is SipHash-2-4 over the bytes written.
        let mut s = 0x1234_5678_9abc_def1u64;
        let mut buf = [0u8; 200];
        for len in 0..200 {
            for b in &mut buf[..len] {
                *b = xorshift(&mut s) as u8;
            }
            let (k0, k1) = (xorshift(&mut s), xorshift(&mut s));
            let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
            h.write(&buf[..len]);
            assert_eq!(
                siphash24(&SipKey::new(k0, k1), &buf[..len]),
                h.finish(),
                "{len}"
            );
        }
    }

    #[test]
    fn iss_follows_the_4us_clock_per_tuple() {
        let t = tuple();
        assert_eq!(ISN_M_PER_TICK, 250);
        let a = tcp_new_iss(&KEY, &t, 1000);
        // Same tuple: M advances 250 per millisecond tick, F stays.
        assert_eq!(tcp_new_iss(&KEY, &t, 1001), a.wrapping_add(250));
        assert_eq!(tcp_new_iss(&KEY, &t, 5000), a.wrapping_add(4000 * 250));
        // M wraps every 2^32 * 4 µs (4.77 hours); the tick counter may be larger.
        let wrap = (1u64 << 32) / 250 + 1;
        assert_eq!(
            tcp_new_iss(&KEY, &t, 1000 + (1 << 32)),
            a,
            "M mod 2^32 depends on the low bits of the tick"
        );
        assert_ne!(tcp_new_iss(&KEY, &t, 1000 + wrap), a);
        // Another port, address or key: an unrelated offset.
        let mut other = t;
        other.fport += 1;
        let b = tcp_new_iss(&KEY, &other, 1000);
        assert_ne!(a, b);
        other = t;
        other.faddr = Ipv4Addr::new(192, 0, 2, 8);
        assert_ne!(tcp_new_iss(&KEY, &other, 1000), a);
        // Local and remote are not interchangeable.
        let swapped = TcpTuple {
            laddr: t.faddr,
            lport: t.fport,
            faddr: t.laddr,
            fport: t.lport,
        };
        assert_ne!(tcp_new_iss(&KEY, &swapped, 1000), a);
        assert_ne!(tcp_new_iss(&SipKey::new(1, 2), &t, 1000), a);
        // Offsets of neighbouring ports look uniform: no two of 1000 collide in the
        // top 16 bits much more often than chance (~7.6 expected pairs of 499500).
        let mut tops: Vec<u32> = (0..1000u16)
            .map(|p| {
                let mut u = t;
                u.fport = p;
                tcp_new_iss(&KEY, &u, 0) >> 16
            })
            .collect();
        tops.sort_unstable();
        let dups = tops.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(dups < 25, "{dups}");
    }

    #[test]
    fn syncookie_round_trips_every_mss() {
        let t = tuple();
        for (i, &mss) in SYNCOOKIE_MSSTAB.iter().enumerate() {
            for counter in [0, 1, 2, 3, 1000, u32::MAX - 1, u32::MAX] {
                let irs = 0xdead_beef ^ counter;
                let c = syncookie_make(&KEY, &t, irs, i as u8, counter);
                for age in 0..=SYNCOOKIE_MAXAGE {
                    let now = counter.wrapping_add(age);
                    assert_eq!(syncookie_check(&KEY, &t, irs, c, now), Some(mss));
                }
            }
        }
        // Index past the table: the largest entry.
        let c = syncookie_make(&KEY, &t, 1, 200, 9);
        assert_eq!(syncookie_check(&KEY, &t, 1, c, 9), Some(8960));
        assert_eq!(syncookie_mss_index(1460), 6);
        assert_eq!(syncookie_mss_index(1459), 5);
        assert_eq!(syncookie_mss_index(9000), 7);
        assert_eq!(syncookie_mss_index(536), 1);
        assert_eq!(syncookie_mss_index(100), 0);
        // The counter steps every 16 s of ticks.
        assert_eq!(syncookie_counter(0), 0);
        assert_eq!(syncookie_counter(SYNCOOKIE_PERIOD - 1), 0);
        assert_eq!(syncookie_counter(SYNCOOKIE_PERIOD), 1);
    }

    #[test]
    fn syncookie_fails_for_another_connection_or_key() {
        let t = tuple();
        let c = syncookie_make(&KEY, &t, 77, 6, 500);
        assert_eq!(syncookie_check(&KEY, &t, 77, c, 500), Some(1460));
        let mut others = Vec::new();
        for f in 0..4 {
            let mut u = t;
            match f {
                0 => u.lport += 1,
                1 => u.fport -= 1,
                2 => u.laddr = Ipv4Addr::new(10, 0, 0, 2),
                _ => u.faddr = Ipv4Addr::new(192, 0, 2, 6),
            }
            others.push(u);
        }
        for u in others {
            assert_eq!(syncookie_check(&KEY, &u, 77, c, 500), None, "{u:?}");
        }
        assert_eq!(syncookie_check(&KEY, &t, 78, c, 500), None);
        assert_eq!(syncookie_check(&SipKey::new(5, 6), &t, 77, c, 500), None);
        // Any single flipped bit breaks it.
        for bit in 0..32 {
            assert_eq!(
                syncookie_check(&KEY, &t, 77, c ^ (1 << bit), 500),
                None,
                "{bit}"
            );
        }
    }

    #[test]
    fn syncookie_expires() {
        let t = tuple();
        let now = 123_456 * SYNCOOKIE_PERIOD + 999;
        let made = syncookie_counter(now);
        let c = syncookie_make(&KEY, &t, 1, 3, made);
        let mut accepted = 0;
        for dt in 0..8 * SYNCOOKIE_PERIOD {
            if syncookie_check(&KEY, &t, 1, c, syncookie_counter(now + dt)).is_some() {
                accepted = dt + 1;
            }
        }
        // Valid through the period it was made in and three more, then never.
        let lifetime = accepted;
        assert!(
            lifetime > 3 * SYNCOOKIE_PERIOD && lifetime <= 4 * SYNCOOKIE_PERIOD,
            "{lifetime}"
        );
        for later in 4..40 {
            assert_eq!(
                syncookie_check(&KEY, &t, 1, c, made + later),
                None,
                "{later}"
            );
        }
        // A cookie from the future (a clock step back) is refused too.
        assert_eq!(syncookie_check(&KEY, &t, 1, c, made - 1), None);
    }

    #[test]
    fn syncookie_forgeries_rarely_pass() {
        // A blind attacker guessing cookies: each must match 24 MAC bits and 3 zero
        // bits, 2^-27 per guess, so 1e5 guesses pass about 0.001 times.
        let t = tuple();
        let mut s = 0x5eed_5eed_5eed_5eedu64;
        let mut accepted = 0;
        for _ in 0..100_000 {
            let r = xorshift(&mut s);
            let irs = (r >> 32) as u32;
            if syncookie_check(&KEY, &t, irs, r as u32, 1000).is_some() {
                accepted += 1;
            }
        }
        assert!(accepted < 3, "{accepted}");
        // Guesses that keep the payload right (an attacker who learned the pad) still
        // need the MAC: 2^-24 per guess.
        let irs = 42;
        let good = syncookie_make(&KEY, &t, irs, 6, 1000);
        let mut accepted = 0;
        for _ in 0..100_000 {
            let forged = (xorshift(&mut s) as u32 & 0xffff_ff00) | (good & 0xff);
            if forged != good && syncookie_check(&KEY, &t, irs, forged, 1000).is_some() {
                accepted += 1;
            }
        }
        assert!(accepted < 3, "{accepted}");
    }

    #[test]
    fn key_debug_hides_the_secret() {
        assert_eq!(format!("{KEY:?}"), "SipKey(..)");
    }
}
