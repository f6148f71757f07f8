//! IP reassembly (NetBSD: netinet/ip_reass.c), with a timeout and memory limits.
//!
//! Fragments are kept per (source, destination, identification, protocol). An exact
//! duplicate of a fragment already held is ignored (links duplicate); any other overlap
//! drops the whole datagram (RFC 5722's rule, applied to IPv4: overlapping fragments are
//! an attack or a bug, never something to splice). Limits bound the number of
//! datagrams, the fragments per datagram and the bytes held; a datagram not complete
//! within [`IPFRAGTTL`] is dropped by its callout.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use crate::kern::kern_clock::HZ;

/// Reassembly timeout (NetBSD: IPFRAGTTL 60 half-seconds).
pub const IPFRAGTTL: u64 = 30 * HZ;
/// Datagrams being reassembled at once (ip_maxfragpackets).
pub const IP_MAXFRAGPACKETS: usize = 200;
/// Fragments per datagram (ip_maxfrags per packet).
pub const IP_MAXFRAGS: usize = 128;
/// Bytes held by all queues together.
pub const IP_REASS_MAXBYTES: usize = 4 * 1024 * 1024;

/// The identity of a datagram being reassembled.
pub type ReassKey = (Ipv4Addr, Ipv4Addr, u16, u8);

/// One datagram being reassembled (`struct ipq`).
#[derive(Debug, Default)]
pub struct Ipq {
    /// Fragment data by offset.
    frags: BTreeMap<usize, Vec<u8>>,
    /// The header of the first fragment (offset 0), once seen.
    first_hdr: Option<Vec<u8>>,
    /// Total payload length, once the last fragment (MF clear) is seen.
    total: Option<usize>,
    /// Bytes held.
    bytes: usize,
    /// Serial number, so a timeout callout only drops the queue it was made for.
    serial: u64,
}

/// What happened to a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum ReassResult {
    /// Kept; the datagram is not complete yet. `new_queue` carries the serial of a new
    /// queue whose timeout the caller schedules.
    Held {
        /// Serial of a queue just created.
        new_queue: Option<u64>,
    },
    /// Complete: the whole datagram (header then payload).
    Done(Vec<u8>),
    /// Dropped (duplicate, overlap, limits); the number of fragments discarded.
    Dropped(usize),
}

/// All reassembly queues of a kernel.
#[derive(Debug, Default)]
pub struct IpReass {
    q: HashMap<ReassKey, Ipq>,
    bytes: usize,
    serial: u64,
}

impl IpReass {
    /// Datagrams being reassembled.
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn remove(&mut self, key: &ReassKey) -> usize {
        match self.q.remove(key) {
            Some(q) => {
                self.bytes -= q.bytes;
                q.frags.len()
            }
            None => 0,
        }
    }

    /// Add a fragment: `hdr` is its IP header, `off` its offset in bytes, `mf` the more
    /// fragments flag, `data` its payload.
    pub fn insert(
        &mut self,
        key: ReassKey,
        hdr: &[u8],
        off: usize,
        mf: bool,
        data: &[u8],
    ) -> ReassResult {
        let end = off + data.len();
        if end + hdr.len() > 65535
            || (mf && !data.len().is_multiple_of(8))
            || (data.is_empty() && mf)
        {
            return ReassResult::Dropped(1 + self.remove(&key));
        }
        let mut new_queue = None;
        if !self.q.contains_key(&key) {
            if self.q.len() >= IP_MAXFRAGPACKETS {
                return ReassResult::Dropped(1);
            }
            self.serial += 1;
            new_queue = Some(self.serial);
            self.q.insert(
                key,
                Ipq {
                    serial: self.serial,
                    ..Ipq::default()
                },
            );
        }
        if self.bytes + data.len() > IP_REASS_MAXBYTES {
            return ReassResult::Dropped(1 + self.remove(&key));
        }
        let q = self.q.get_mut(&key).expect("inserted above");
        // Exact duplicate: ignore. Any other overlap: drop the datagram.
        if let Some(d) = q.frags.get(&off) {
            if d.as_slice() == data {
                return ReassResult::Held { new_queue };
            }
        }
        let overlaps = q
            .frags
            .range(..end)
            .next_back()
            .is_some_and(|(&o, d)| o + d.len() > off)
            || q.frags.range(off..end).next().is_some();
        let bad_total = if mf {
            q.total.is_some_and(|t| end > t)
        } else {
            q.total.is_some_and(|t| t != end)
                || q.frags
                    .iter()
                    .next_back()
                    .is_some_and(|(&o, d)| o + d.len() > end)
        };
        if overlaps || bad_total || q.frags.len() >= IP_MAXFRAGS {
            return ReassResult::Dropped(1 + self.remove(&key));
        }
        if !mf {
            q.total = Some(end);
        }
        if off == 0 {
            q.first_hdr = Some(hdr.to_vec());
        }
        q.frags.insert(off, data.to_vec());
        q.bytes += data.len();
        self.bytes += data.len();
        // Complete when the pieces cover 0..total without holes.
        let (Some(total), Some(_)) = (q.total, q.first_hdr.as_ref()) else {
            return ReassResult::Held { new_queue };
        };
        let mut next = 0;
        for (&o, d) in &q.frags {
            if o != next {
                return ReassResult::Held { new_queue };
            }
            next = o + d.len();
        }
        if next != total {
            return ReassResult::Held { new_queue };
        }
        let q = self.q.remove(&key).expect("present");
        self.bytes -= q.bytes;
        let hdr = q.first_hdr.expect("checked");
        let mut out = Vec::with_capacity(hdr.len() + total);
        out.extend_from_slice(&hdr);
        for d in q.frags.values() {
            out.extend_from_slice(d);
        }
        ReassResult::Done(out)
    }

    /// The reassembly timer of one queue fired: drop it if it is still the same queue.
    /// Returns the dropped fragments and the first fragment's header+8 bytes (for an
    /// ICMP time exceeded), if it had arrived.
    pub fn timeout(&mut self, key: ReassKey, serial: u64) -> Option<(usize, Option<Vec<u8>>)> {
        if self.q.get(&key)?.serial != serial {
            return None;
        }
        let q = self.q.remove(&key)?;
        self.bytes -= q.bytes;
        let quote = q.first_hdr.map(|mut h| {
            if let Some(d) = q.frags.get(&0) {
                h.extend_from_slice(&d[..d.len().min(8)]);
            }
            h
        });
        Some((q.frags.len(), quote))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ReassKey {
        (
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            7,
            17,
        )
    }

    const H: [u8; 20] = [0x45; 20];

    #[test]
    fn in_order_out_of_order_and_duplicates() {
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut r = IpReass::default();
            let pieces = [
                (0, &data[..1480]),
                (1480, &data[1480..2960]),
                (2960, &data[2960..]),
            ];
            let mut out = None;
            for (n, &i) in order.iter().enumerate() {
                let (off, d) = pieces[i];
                let mf = i != 2;
                let res = r.insert(key(), &H, off, mf, d);
                if n == 1 {
                    // an exact duplicate is harmless
                    assert!(matches!(
                        r.insert(key(), &H, off, mf, d),
                        ReassResult::Held { .. }
                    ));
                }
                if let ReassResult::Done(v) = res {
                    out = Some(v);
                }
            }
            let v = out.expect("complete");
            assert_eq!(&v[..20], &H);
            assert_eq!(&v[20..], &data[..]);
            assert!(r.is_empty());
            assert_eq!(r.bytes(), 0);
        }
    }

    #[test]
    fn overlaps_and_bad_lengths_drop_the_datagram() {
        let mut r = IpReass::default();
        assert!(matches!(
            r.insert(key(), &H, 0, true, &[0; 16]),
            ReassResult::Held { new_queue: Some(_) }
        ));
        assert_eq!(
            r.insert(key(), &H, 8, true, &[1; 16]),
            ReassResult::Dropped(2)
        );
        assert!(r.is_empty());
        // not a multiple of 8 with MF
        assert_eq!(
            r.insert(key(), &H, 0, true, &[0; 13]),
            ReassResult::Dropped(1)
        );
        // beyond 64 KiB
        assert_eq!(
            r.insert(key(), &H, 65528, false, &[0; 16]),
            ReassResult::Dropped(1)
        );
        // a last fragment that disagrees with the data held
        r.insert(key(), &H, 0, true, &[0; 16]);
        r.insert(key(), &H, 32, false, &[0; 8]);
        assert_eq!(
            r.insert(key(), &H, 40, false, &[0; 8]),
            ReassResult::Dropped(3)
        );
    }

    #[test]
    fn timeout_and_limits() {
        let mut r = IpReass::default();
        let ReassResult::Held { new_queue: Some(s) } = r.insert(key(), &H, 0, true, &[9; 8]) else {
            panic!()
        };
        assert_eq!(r.timeout(key(), s + 1), None);
        let (n, quote) = r.timeout(key(), s).unwrap();
        assert_eq!(n, 1);
        assert_eq!(quote.unwrap().len(), 28);
        for id in 0..IP_MAXFRAGPACKETS as u16 {
            let k = (Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2), id, 17);
            assert!(matches!(
                r.insert(k, &H, 8, true, &[0; 8]),
                ReassResult::Held { .. }
            ));
        }
        let k = (
            Ipv4Addr::new(1, 1, 1, 1),
            Ipv4Addr::new(2, 2, 2, 2),
            60000,
            17,
        );
        assert_eq!(r.insert(k, &H, 8, true, &[0; 8]), ReassResult::Dropped(1));
    }
}
