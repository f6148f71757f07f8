//! Internet protocol control blocks (NetBSD: netinet/in_pcb.c).
//!
//! A PCB binds a socket to its local and foreign address and port. The table hashes
//! PCBs by local port, and connected PCBs also by their 4-tuple (NetBSD's
//! inpt_connecthashtbl beside inpt_porthashtbl): input for a connection costs one or
//! two hash probes however many connections share its local port (a server's
//! listening port carries all of its connections), and only a segment for no
//! connection scans the unconnected sockets of the port. Ephemeral ports are chosen at
//! random (RFC 6056 algorithm 1: a random start, then the next free port).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use crate::kern::errno::{Errno, KResult};
use crate::kern::uipc_socket::SocketId;

/// First ephemeral port (net.inet.ip.anonportmin).
pub const ANONPORTMIN: u16 = 49152;
/// Last ephemeral port (net.inet.ip.anonportmax).
pub const ANONPORTMAX: u16 = 65535;
/// Ports below this need privilege on a real system (we let everyone bind them).
pub const IPPORT_RESERVED: u16 = 1024;

/// The addresses of a socket (`struct inpcb`'s 4-tuple).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inpcb {
    /// Local address (0.0.0.0 = any).
    pub laddr: Ipv4Addr,
    /// Local port (0 = not bound).
    pub lport: u16,
    /// Foreign address (0.0.0.0 = not connected).
    pub faddr: Ipv4Addr,
    /// Foreign port.
    pub fport: u16,
    /// SO_REUSEADDR when bound.
    pub reuseaddr: bool,
    /// SO_REUSEPORT when bound.
    pub reuseport: bool,
}

impl Default for Inpcb {
    fn default() -> Self {
        Inpcb {
            laddr: Ipv4Addr::UNSPECIFIED,
            lport: 0,
            faddr: Ipv4Addr::UNSPECIFIED,
            fport: 0,
            reuseaddr: false,
            reuseport: false,
        }
    }
}

impl Inpcb {
    /// Whether connected.
    pub fn connected(&self) -> bool {
        !self.faddr.is_unspecified()
    }
}

/// A connected PCB's key: local address and port, foreign address and port.
type Tuple = (Ipv4Addr, u16, Ipv4Addr, u16);

fn tuple_of(p: &Inpcb) -> Tuple {
    (p.laddr, p.lport, p.faddr, p.fport)
}

/// The PCBs bound to one local port, in the order bound (lookup breaks ties by it),
/// and where each socket's sits: finding, changing or removing one costs a hash probe
/// and a tree step, not a walk over a listening port's connections.
#[derive(Default)]
struct PortPcbs {
    by_seq: BTreeMap<u64, (SocketId, Inpcb)>,
    seq_of: HashMap<SocketId, u64>,
}

impl PortPcbs {
    fn iter(&self) -> impl Iterator<Item = &(SocketId, Inpcb)> {
        self.by_seq.values()
    }

    fn get(&self, so: SocketId) -> Option<&Inpcb> {
        let seq = self.seq_of.get(&so)?;
        self.by_seq.get(seq).map(|(_, p)| p)
    }

    fn get_mut(&mut self, so: SocketId) -> Option<&mut Inpcb> {
        let seq = self.seq_of.get(&so)?;
        self.by_seq.get_mut(seq).map(|(_, p)| p)
    }

    fn remove(&mut self, so: SocketId) -> Option<Inpcb> {
        let seq = self.seq_of.remove(&so)?;
        self.by_seq.remove(&seq).map(|(_, p)| p)
    }
}

/// The PCBs of one protocol (`struct inpcbtable`).
#[derive(Default)]
pub struct InpcbTable {
    /// Every PCB, by local port.
    by_lport: HashMap<u16, PortPcbs>,
    /// Order of binding, across the table.
    next_seq: u64,
    /// Connected PCBs by 4-tuple: of several with one tuple, the first in `by_lport`,
    /// and how many there are.
    connected: HashMap<Tuple, (SocketId, u32)>,
    /// Unconnected PCBs by local port, in the order bound (the candidates of a lookup
    /// that no 4-tuple answers).
    unconnected: HashMap<u16, Vec<(SocketId, Inpcb)>>,
    count: usize,
}

impl InpcbTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of bound PCBs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The PCB of a socket, if bound.
    pub fn get(&self, so: SocketId, lport: u16) -> Option<&Inpcb> {
        self.by_lport.get(&lport)?.get(so)
    }

    /// Whether binding `laddr:lport` conflicts with a PCB there (in_pcbbind's check):
    /// a conflict unless both set SO_REUSEPORT; with SO_REUSEADDR only an exactly
    /// equal local address conflicts, without it a wildcard on either side does too.
    fn conflicts(&self, laddr: Ipv4Addr, lport: u16, reuseaddr: bool, reuseport: bool) -> bool {
        let Some(v) = self.by_lport.get(&lport) else {
            return false;
        };
        v.iter().any(|(_, p)| {
            let overlap = if reuseaddr {
                p.laddr == laddr
            } else {
                p.laddr == laddr || p.laddr.is_unspecified() || laddr.is_unspecified()
            };
            overlap && !(reuseport && p.reuseport)
        })
    }

    /// Bind a socket (in_pcbbind); `lport` 0 picks an ephemeral port with `random`.
    /// Returns the port bound.
    ///
    /// # Errors
    /// `EADDRINUSE`, `EAGAIN` when no ephemeral port is free.
    pub fn bind(&mut self, so: SocketId, mut pcb: Inpcb, random: u16) -> KResult<u16> {
        if pcb.lport == 0 {
            let span = u32::from(ANONPORTMAX - ANONPORTMIN) + 1;
            let start = u32::from(random) % span;
            let mut found = None;
            for i in 0..span {
                let port = ANONPORTMIN + ((start + i) % span) as u16;
                if !self.conflicts(pcb.laddr, port, pcb.reuseaddr, pcb.reuseport) {
                    found = Some(port);
                    break;
                }
            }
            pcb.lport = found.ok_or(Errno::EAGAIN)?;
        } else if self.conflicts(pcb.laddr, pcb.lport, pcb.reuseaddr, pcb.reuseport) {
            return Err(Errno::EADDRINUSE);
        }
        self.insert(so, pcb);
        Ok(pcb.lport)
    }

    /// Enter `so`'s PCB into the lookup indexes.
    fn index(&mut self, so: SocketId, pcb: Inpcb) {
        if pcb.connected() {
            self.connected.entry(tuple_of(&pcb)).or_insert((so, 0)).1 += 1;
        } else {
            self.unconnected
                .entry(pcb.lport)
                .or_default()
                .push((so, pcb));
        }
    }

    /// Take `so`'s PCB (as it was entered) out of the lookup indexes.
    fn unindex(&mut self, so: SocketId, pcb: &Inpcb) {
        if pcb.connected() {
            let key = tuple_of(pcb);
            let Some(e) = self.connected.get_mut(&key) else {
                return;
            };
            e.1 -= 1;
            if e.1 == 0 {
                self.connected.remove(&key);
            } else if e.0 == so {
                // Another socket with the same tuple (SO_REUSEPORT) takes its place.
                let next = self.by_lport.get(&pcb.lport).and_then(|v| {
                    v.iter()
                        .find(|(s, p)| *s != so && p.connected() && tuple_of(p) == key)
                        .map(|(s, _)| *s)
                });
                if let Some(s) = next {
                    e.0 = s;
                }
            }
        } else if let Some(v) = self.unconnected.get_mut(&pcb.lport) {
            v.retain(|(s, _)| *s != so);
            if v.is_empty() {
                self.unconnected.remove(&pcb.lport);
            }
        }
    }

    /// Update the addresses of a bound socket (connect, disconnect); `f` must keep the
    /// local port.
    pub fn update(&mut self, so: SocketId, lport: u16, f: impl FnOnce(&mut Inpcb)) {
        let Some(p) = self.by_lport.get_mut(&lport).and_then(|v| v.get_mut(so)) else {
            return;
        };
        let old = *p;
        f(p);
        let new = *p;
        debug_assert_eq!(old.lport, new.lport, "update moved a PCB to another port");
        self.unindex(so, &old);
        self.index(so, new);
    }

    /// Whether another socket already has this exact 4-tuple (connect's check).
    pub fn tuple_in_use(
        &self,
        so: SocketId,
        laddr: Ipv4Addr,
        lport: u16,
        faddr: Ipv4Addr,
        fport: u16,
    ) -> bool {
        // The connected ones are counted by tuple; `so` itself may be among them.
        let key = (laddr, lport, faddr, fport);
        let Some(&(_, n)) = self.connected.get(&key) else {
            return false;
        };
        let mine = self
            .get(so, lport)
            .is_some_and(|p| p.connected() && tuple_of(p) == key);
        n > u32::from(mine)
    }

    /// The PCBs bound to a port, in the order bound, for protocols with binding rules of
    /// their own.
    pub fn on_port(&self, lport: u16) -> impl Iterator<Item = &(SocketId, Inpcb)> {
        self.by_lport
            .get(&lport)
            .into_iter()
            .flat_map(PortPcbs::iter)
    }

    /// Enter a PCB without a conflict check (a connection accepted on a listener's
    /// port, or a bind the protocol has already checked).
    pub fn insert(&mut self, so: SocketId, pcb: Inpcb) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let port = self.by_lport.entry(pcb.lport).or_default();
        port.by_seq.insert(seq, (so, pcb));
        port.seq_of.insert(so, seq);
        self.index(so, pcb);
        self.count += 1;
    }

    /// Remove a socket's PCB (in_pcbdetach).
    pub fn remove(&mut self, so: SocketId, lport: u16) {
        let Some(port) = self.by_lport.get_mut(&lport) else {
            return;
        };
        let Some(pcb) = port.remove(so) else {
            return;
        };
        if port.seq_of.is_empty() {
            self.by_lport.remove(&lport);
        }
        self.count -= 1;
        self.unindex(so, &pcb);
    }

    /// The socket a unicast datagram belongs to (in_pcblookup): an exact 4-tuple
    /// first, then the most specific bound socket that is not connected elsewhere.
    pub fn lookup(
        &self,
        laddr: Ipv4Addr,
        lport: u16,
        faddr: Ipv4Addr,
        fport: u16,
    ) -> Option<SocketId> {
        // A connection: its exact tuple, else one bound to the wildcard address.
        for l in [laddr, Ipv4Addr::UNSPECIFIED] {
            if let Some(&(s, _)) = self.connected.get(&(l, lport, faddr, fport)) {
                return Some(s);
            }
        }
        let v = self.unconnected.get(&lport)?;
        let mut best: Option<(u8, SocketId)> = None;
        for (s, p) in v {
            let mut score = 0u8;
            if !p.laddr.is_unspecified() {
                if p.laddr != laddr {
                    continue;
                }
                score += 1;
            }
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, *s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// Every socket a broadcast or multicast datagram is for (each bound to the port
    /// with a matching or wildcard local address, and not connected elsewhere).
    pub fn lookup_all(
        &self,
        laddr: Ipv4Addr,
        lport: u16,
        faddr: Ipv4Addr,
        fport: u16,
    ) -> Vec<SocketId> {
        let Some(v) = self.by_lport.get(&lport) else {
            return Vec::new();
        };
        v.iter()
            .filter(|(_, p)| {
                (p.laddr.is_unspecified() || p.laddr == laddr || laddr.is_broadcast())
                    && (!p.connected() || (p.faddr == faddr && p.fport == fport))
            })
            .map(|(s, _)| *s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kern::slab::SlabId;

    fn so(n: u64) -> SocketId {
        SlabId::from_u64(n)
    }

    fn pcb(laddr: [u8; 4], lport: u16) -> Inpcb {
        Inpcb {
            laddr: Ipv4Addr::from(laddr),
            lport,
            ..Inpcb::default()
        }
    }

    #[test]
    fn bind_conflicts_follow_bsd() {
        let mut t = InpcbTable::new();
        t.bind(so(1), pcb([0, 0, 0, 0], 53), 0).unwrap();
        assert_eq!(
            t.bind(so(2), pcb([10, 0, 0, 1], 53), 0),
            Err(Errno::EADDRINUSE)
        );
        let mut p = pcb([10, 0, 0, 1], 53);
        p.reuseaddr = true; // a specific address beside a wildcard one
        assert_eq!(t.bind(so(2), p, 0), Ok(53));
        assert_eq!(t.bind(so(3), p, 0), Err(Errno::EADDRINUSE));
        let mut a = pcb([0, 0, 0, 0], 99);
        a.reuseport = true;
        t.bind(so(4), a, 0).unwrap();
        assert_eq!(t.bind(so(5), a, 0), Ok(99));
        assert_eq!(t.len(), 4);
        t.remove(so(1), 53);
        t.remove(so(2), 53);
        assert_eq!(t.bind(so(6), pcb([0, 0, 0, 0], 53), 0), Ok(53));
    }

    #[test]
    fn ephemeral_ports_are_random_and_unique() {
        let mut t = InpcbTable::new();
        let a = t.bind(so(1), pcb([0, 0, 0, 0], 0), 1234).unwrap();
        let b = t.bind(so(2), pcb([0, 0, 0, 0], 0), 1234).unwrap();
        assert!(a >= ANONPORTMIN && b >= ANONPORTMIN && a != b);
        let c = t.bind(so(3), pcb([0, 0, 0, 0], 0), 40000).unwrap();
        assert_ne!(c, a + 2, "start depends on the random input");
    }

    #[test]
    fn many_connections_on_one_port_and_shared_tuples() {
        let mut t = InpcbTable::new();
        let local = Ipv4Addr::new(10, 0, 0, 2);
        let peer = Ipv4Addr::new(10, 0, 0, 1);
        t.bind(so(0), pcb([0, 0, 0, 0], 80), 0).unwrap();
        let conn = |fport| Inpcb {
            faddr: peer,
            fport,
            ..pcb([10, 0, 0, 2], 80)
        };
        for i in 1..=1000u16 {
            t.insert(so(u64::from(i)), conn(40000 + i));
        }
        assert_eq!(t.lookup(local, 80, peer, 40500), Some(so(500)));
        assert_eq!(
            t.lookup(local, 80, peer, 39999),
            Some(so(0)),
            "the listener"
        );
        t.remove(so(500), 80);
        assert_eq!(t.lookup(local, 80, peer, 40500), Some(so(0)));
        // Two sockets with one tuple (SO_REUSEPORT): the first, then the other.
        t.insert(so(2000), conn(40001));
        assert_eq!(t.lookup(local, 80, peer, 40001), Some(so(1)));
        t.remove(so(1), 80);
        assert_eq!(t.lookup(local, 80, peer, 40001), Some(so(2000)));
        // Disconnecting (update) moves a PCB back among the unconnected ones.
        t.update(so(2000), 80, |p| {
            p.faddr = Ipv4Addr::UNSPECIFIED;
            p.fport = 0;
        });
        assert_eq!(
            t.lookup(local, 80, peer, 40001),
            Some(so(2000)),
            "bound to the address"
        );
        assert_eq!(t.len(), 1000);
    }

    #[test]
    fn lookup_prefers_the_most_specific() {
        let mut t = InpcbTable::new();
        let local = Ipv4Addr::new(10, 0, 0, 1);
        let peer = Ipv4Addr::new(10, 0, 0, 2);
        t.bind(so(1), pcb([0, 0, 0, 0], 7), 0).unwrap();
        assert_eq!(t.lookup(local, 7, peer, 5000), Some(so(1)));
        let mut p = pcb([10, 0, 0, 1], 7);
        p.reuseaddr = true;
        t.bind(so(2), p, 0).unwrap();
        assert_eq!(t.lookup(local, 7, peer, 5000), Some(so(2)));
        t.update(so(2), 7, |p| {
            p.faddr = Ipv4Addr::new(10, 0, 0, 9);
            p.fport = 1;
        });
        // connected elsewhere: not a candidate
        assert_eq!(t.lookup(local, 7, peer, 5000), Some(so(1)));
        assert_eq!(
            t.lookup(local, 7, Ipv4Addr::new(10, 0, 0, 9), 1),
            Some(so(2))
        );
        assert_eq!(t.lookup(local, 8, peer, 5000), None);
        // Connected on the wildcard address: found by tuple, before the bound sockets.
        t.insert(
            so(3),
            Inpcb {
                faddr: peer,
                fport: 5000,
                ..pcb([0, 0, 0, 0], 7)
            },
        );
        assert_eq!(t.lookup(local, 7, peer, 5000), Some(so(3)));
        t.remove(so(3), 7);
        assert_eq!(t.lookup(local, 7, peer, 5000), Some(so(1)));
        assert_eq!(
            t.lookup_all(Ipv4Addr::BROADCAST, 7, peer, 5000),
            vec![so(1)]
        );
    }
}
