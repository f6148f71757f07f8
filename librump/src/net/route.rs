//! The IPv4 routing table (NetBSD: net/route.c, net/route.h `struct rtentry`).
//!
//! One [`RouteTable`] per kernel maps destinations to [`Rtentry`]s and answers the
//! question every output and forwarded packet asks: which route is the longest prefix
//! covering this address (RFC 1812 section 5.2.4.3)?
//!
//! # How lookups stay cheap
//!
//! NetBSD walks a radix tree (net/radix.c). This table keeps one hash table per prefix
//! length, 33 in all (/0 through /32), each keyed by the destination masked to that
//! length, and a 33-bit mask of the lengths that hold at least one route. A lookup
//! probes the non-empty lengths from the longest down and stops at the first hit: at
//! most 33 probes, and in practice as many as there are distinct prefix lengths in the
//! table (a host with a connected /24 and a default route probes twice), whatever the
//! number of routes. Adding and deleting are one hash operation each.
//!
//! # Invariants
//!
//! - A stored route's `rt_dst` has no bits set below its prefix: [`RouteTable::add`]
//!   masks them off, as NetBSD's `rtrequest1` does with `rt_maskedcopy` (so
//!   `10.1.2.3/16` is stored as `10.1.0.0/16`). Deleting and exact lookups mask too.
//! - `(rt_dst, rt_prefixlen)` is unique: a second route to the same prefix is `EEXIST`
//!   (NetBSD's radix `rn_addroute` refusal), whatever its gateway.
//! - A route with `RTF_HOST` is a /32: NetBSD's `rtrequest1` drops the netmask of a
//!   host route, and so does `add`.
//! - Every added route carries `RTF_UP` (NetBSD sets it in `rtrequest1`); only routes
//!   that are up match a lookup. A route marked down (with [`RouteTable::modify`]) is
//!   skipped and a shorter prefix may match instead.
//!
//! Addresses are [`Ipv4Addr`] at the interface and `u32` in host order inside.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;

use crate::abi::netbsd as abi;
use crate::kern::errno::Errno;

// Route flags (NetBSD's RTF_* in net/route.h), spelled once in abi/netbsd.rs.
/// Route usable.
pub const RTF_UP: u32 = abi::RUMP_RTF_UP as u32;
/// Destination is reached through a gateway.
pub const RTF_GATEWAY: u32 = abi::RUMP_RTF_GATEWAY as u32;
/// Host entry (net otherwise).
pub const RTF_HOST: u32 = abi::RUMP_RTF_HOST as u32;
/// Host or net unreachable: answer with an ICMP unreachable.
pub const RTF_REJECT: u32 = abi::RUMP_RTF_REJECT as u32;
/// Created dynamically (by a redirect).
pub const RTF_DYNAMIC: u32 = abi::RUMP_RTF_DYNAMIC as u32;
/// Modified dynamically (by a redirect).
pub const RTF_MODIFIED: u32 = abi::RUMP_RTF_MODIFIED as u32;
/// Message confirmed (routing socket replies).
pub const RTF_DONE: u32 = abi::RUMP_RTF_DONE as u32;
/// Subnet mask present.
pub const RTF_MASK: u32 = abi::RUMP_RTF_MASK as u32;
/// Hosts on this route are neighbours (NetBSD reuses the old RTF_CLONING bit).
pub const RTF_CONNECTED: u32 = abi::RUMP_RTF_CONNECTED as u32;
/// Used by arp(8) and ndp(8) to add or delete link-layer entries.
pub const RTF_LLDATA: u32 = abi::RUMP_RTF_LLDATA as u32;
/// Added by hand (route(8), `RUMP_NET`'s `route`).
pub const RTF_STATIC: u32 = abi::RUMP_RTF_STATIC as u32;
/// Discard packets silently.
pub const RTF_BLACKHOLE: u32 = abi::RUMP_RTF_BLACKHOLE as u32;
/// Protocol-specific flag.
pub const RTF_PROTO2: u32 = abi::RUMP_RTF_PROTO2 as u32;
/// Protocol-specific flag.
pub const RTF_PROTO1: u32 = abi::RUMP_RTF_PROTO1 as u32;
/// Route has a fixed source address.
pub const RTF_SRC: u32 = abi::RUMP_RTF_SRC as u32;
/// Announce a new ARP entry (proxy ARP).
pub const RTF_ANNOUNCE: u32 = abi::RUMP_RTF_ANNOUNCE as u32;
/// Route to one of our own addresses.
pub const RTF_LOCAL: u32 = abi::RUMP_RTF_LOCAL as u32;
/// Route to a broadcast address.
pub const RTF_BROADCAST: u32 = abi::RUMP_RTF_BROADCAST as u32;
/// Route is being updated.
pub const RTF_UPDATING: u32 = abi::RUMP_RTF_UPDATING as u32;

/// Number of prefix lengths, /0 through /32.
const NPREFIX: usize = 33;

/// The netmask of a prefix length, in host order; lengths above 32 give 32's.
pub fn in_prefixlen_mask(prefixlen: u8) -> u32 {
    match prefixlen {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// The prefix length of a netmask, or `None` when its one bits are not contiguous
/// from the top (NetBSD accepts such masks; rumpnet does not route with them).
pub fn in_mask_prefixlen(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// One route (NetBSD: `struct rtentry`, with the radix key and mask folded into
/// `rt_dst`/`rt_prefixlen` and the interface named by index).
#[derive(Clone, Debug, PartialEq)]
pub struct Rtentry {
    /// Destination, host bits clear.
    pub rt_dst: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub rt_prefixlen: u8,
    /// Next hop when `RTF_GATEWAY` is set.
    pub rt_gateway: Option<Ipv4Addr>,
    /// Outgoing interface.
    pub rt_ifindex: usize,
    /// `RTF_*` flags.
    pub rt_flags: u32,
    /// Packets sent through this route (counted by [`RouteTable::lookup`]).
    pub rt_use: u64,
    /// Path MTU; 0 means the interface MTU (`rmx_mtu`).
    pub rt_mtu: u32,
}

impl Rtentry {
    /// A route with no use count and the interface MTU.
    pub fn new(
        dst: Ipv4Addr,
        prefixlen: u8,
        gateway: Option<Ipv4Addr>,
        ifindex: usize,
        flags: u32,
    ) -> Self {
        Rtentry {
            rt_dst: dst,
            rt_prefixlen: prefixlen,
            rt_gateway: gateway,
            rt_ifindex: ifindex,
            rt_flags: flags,
            rt_use: 0,
            rt_mtu: 0,
        }
    }

    /// The netmask of this route.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(in_prefixlen_mask(self.rt_prefixlen))
    }

    /// Whether `addr` is inside this route's prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let m = in_prefixlen_mask(self.rt_prefixlen);
        u32::from(addr) & m == u32::from(self.rt_dst) & m
    }

    /// The next hop for a packet to `dst`: the gateway of a gateway route, else `dst`
    /// itself (NetBSD's `rt_gateway`/`RTF_GATEWAY` test in ip_output).
    pub fn next_hop(&self, dst: Ipv4Addr) -> Ipv4Addr {
        match self.rt_gateway {
            Some(gw) if self.rt_flags & RTF_GATEWAY != 0 => gw,
            _ => dst,
        }
    }
}

/// Routing statistics (NetBSD: `struct rtstat`, plus the counters route(8) lacks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtStats {
    /// Calls to [`RouteTable::lookup`].
    pub lookups: u64,
    /// Lookups that found no route (`rts_unreach`).
    pub misses: u64,
    /// Lookups answered by a default route (`rts_wildcard`).
    pub wildcard: u64,
    /// Routes added.
    pub adds: u64,
    /// Routes deleted, one by one or with their interface.
    pub deletes: u64,
}

/// Hashes a masked destination with the splitmix64 finalizer, so that every key bit
/// reaches the low bits the hash table indexes buckets with (a /24 key has eight zero
/// low bits, which an identity or multiplicative hash would leave in every bucket
/// index). Routes are added by the administrator, not by the network, so a keyed hash
/// buys nothing here.
#[derive(Default)]
struct DstHasher(u64);

impl Hasher for DstHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

type DstMap = HashMap<u32, Rtentry, BuildHasherDefault<DstHasher>>;

/// The IPv4 routing table of one kernel (NetBSD: the AF_INET `rtbl`).
pub struct RouteTable {
    /// `by_len[p]` holds the routes of prefix length `p`, keyed by masked destination.
    by_len: [DstMap; NPREFIX],
    /// Bit `p` is set exactly when `by_len[p]` is not empty.
    nonempty: u64,
    stats: RtStats,
}

impl Default for RouteTable {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        RouteTable {
            by_len: std::array::from_fn(|_| DstMap::default()),
            nonempty: 0,
            stats: RtStats::default(),
        }
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.by_len.iter().map(HashMap::len).sum()
    }

    /// Whether the table holds no route.
    pub fn is_empty(&self) -> bool {
        self.nonempty == 0
    }

    /// Adds a route (NetBSD: `rtrequest1(RTM_ADD)`). Host bits of `rt_dst` are masked
    /// off, `RTF_HOST` makes the route a /32, and `RTF_UP` is set.
    ///
    /// # Errors
    ///
    /// `EINVAL` when `rt_prefixlen` is above 32 or `RTF_GATEWAY` is set without a
    /// gateway; `EEXIST` when a route to the same prefix exists.
    pub fn add(&mut self, mut rt: Rtentry) -> Result<(), Errno> {
        if rt.rt_prefixlen > 32 || (rt.rt_flags & RTF_GATEWAY != 0 && rt.rt_gateway.is_none()) {
            return Err(Errno::EINVAL);
        }
        if rt.rt_flags & RTF_HOST != 0 {
            rt.rt_prefixlen = 32;
        }
        let p = usize::from(rt.rt_prefixlen);
        let key = u32::from(rt.rt_dst) & in_prefixlen_mask(rt.rt_prefixlen);
        rt.rt_dst = Ipv4Addr::from(key);
        rt.rt_flags |= RTF_UP;
        let table = &mut self.by_len[p];
        if table.contains_key(&key) {
            return Err(Errno::EEXIST);
        }
        table.insert(key, rt);
        self.nonempty |= 1 << p;
        self.stats.adds += 1;
        Ok(())
    }

    /// Deletes the route to `dst/prefixlen` (host bits of `dst` ignored) and returns
    /// it (NetBSD: `rtrequest1(RTM_DELETE)`). With `gateway`, the route must go
    /// through that gateway.
    ///
    /// # Errors
    ///
    /// `EINVAL` when `prefixlen` is above 32; `ESRCH` when there is no such route or
    /// its gateway differs.
    pub fn delete(
        &mut self,
        dst: Ipv4Addr,
        prefixlen: u8,
        gateway: Option<Ipv4Addr>,
    ) -> Result<Rtentry, Errno> {
        if prefixlen > 32 {
            return Err(Errno::EINVAL);
        }
        let p = usize::from(prefixlen);
        let key = u32::from(dst) & in_prefixlen_mask(prefixlen);
        let table = &mut self.by_len[p];
        match (table.get(&key), gateway) {
            (None, _) => return Err(Errno::ESRCH),
            (Some(rt), Some(gw)) if rt.rt_gateway != Some(gw) => return Err(Errno::ESRCH),
            _ => {}
        }
        let rt = table.remove(&key).ok_or(Errno::ESRCH)?;
        if table.is_empty() {
            self.nonempty &= !(1 << p);
        }
        self.stats.deletes += 1;
        Ok(rt)
    }

    /// The route to exactly `dst/prefixlen` (host bits of `dst` ignored), up or not.
    pub fn get(&self, dst: Ipv4Addr, prefixlen: u8) -> Option<&Rtentry> {
        if prefixlen > 32 {
            return None;
        }
        self.by_len[usize::from(prefixlen)].get(&(u32::from(dst) & in_prefixlen_mask(prefixlen)))
    }

    /// Changes the route to exactly `dst/prefixlen` in place (NetBSD: `RTM_CHANGE`,
    /// `rt_setgate`, marking a route down). Changes `f` makes to `rt_dst` and
    /// `rt_prefixlen` are undone: delete and add to move a route.
    ///
    /// # Errors
    ///
    /// `ESRCH` when there is no such route.
    pub fn modify(
        &mut self,
        dst: Ipv4Addr,
        prefixlen: u8,
        f: impl FnOnce(&mut Rtentry),
    ) -> Result<(), Errno> {
        if prefixlen > 32 {
            return Err(Errno::ESRCH);
        }
        let key = u32::from(dst) & in_prefixlen_mask(prefixlen);
        let rt = self.by_len[usize::from(prefixlen)]
            .get_mut(&key)
            .ok_or(Errno::ESRCH)?;
        f(rt);
        rt.rt_dst = Ipv4Addr::from(key);
        rt.rt_prefixlen = prefixlen;
        Ok(())
    }

    /// The longest up prefix covering `dst`, as (prefix length, masked key).
    fn find(&self, dst: u32) -> Option<(usize, u32)> {
        let mut lens = self.nonempty;
        while lens != 0 {
            let p = 63 - lens.leading_zeros() as usize;
            lens &= !(1 << p);
            let key = dst & in_prefixlen_mask(p as u8);
            if let Some(rt) = self.by_len[p].get(&key) {
                if rt.rt_flags & RTF_UP != 0 {
                    return Some((p, key));
                }
            }
        }
        None
    }

    /// The route a packet to `dst` takes: the longest prefix among routes that are up
    /// (NetBSD: `rtalloc1`). Counts the lookup, a miss or a default-route answer in
    /// [`RouteTable::stats`] and one use of the route in its `rt_use`.
    pub fn lookup(&mut self, dst: Ipv4Addr) -> Option<&Rtentry> {
        self.stats.lookups += 1;
        let Some((p, key)) = self.find(u32::from(dst)) else {
            self.stats.misses += 1;
            return None;
        };
        if p == 0 {
            self.stats.wildcard += 1;
        }
        let rt = self.by_len[p].get_mut(&key)?;
        rt.rt_use += 1;
        Some(rt)
    }

    /// [`RouteTable::lookup`] without counting: for route(8)'s `get`, ICMP source
    /// selection and tests.
    pub fn lookup_nocount(&self, dst: Ipv4Addr) -> Option<&Rtentry> {
        let (p, key) = self.find(u32::from(dst))?;
        self.by_len[p].get(&key)
    }

    /// Drops every route through interface `ifindex` (NetBSD: `if_detach` through
    /// `rt_delete_matched_entries`) and returns how many went.
    pub fn delete_ifindex(&mut self, ifindex: usize) -> usize {
        let mut removed = 0;
        for (p, table) in self.by_len.iter_mut().enumerate() {
            let before = table.len();
            table.retain(|_, rt| rt.rt_ifindex != ifindex);
            removed += before - table.len();
            if table.is_empty() {
                self.nonempty &= !(1 << p);
            }
        }
        self.stats.deletes += removed as u64;
        removed
    }

    /// Every route, ordered by destination and then prefix length, as netstat -r and
    /// the `NET_RT_DUMP` sysctl list them. Sorting costs O(n log n) per call: a dump is
    /// rare, and keeping an ordered index would slow every add and delete.
    pub fn iter(&self) -> impl Iterator<Item = &Rtentry> + '_ {
        let mut all: Vec<&Rtentry> = self.by_len.iter().flat_map(HashMap::values).collect();
        all.sort_unstable_by_key(|rt| (u32::from(rt.rt_dst), rt.rt_prefixlen));
        all.into_iter()
    }

    /// The counters.
    pub fn stats(&self) -> RtStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn net(dst: &str, plen: u8, ifindex: usize) -> Rtentry {
        Rtentry::new(a(dst), plen, None, ifindex, RTF_STATIC)
    }

    fn via(dst: &str, plen: u8, gw: &str, ifindex: usize) -> Rtentry {
        Rtentry::new(a(dst), plen, Some(a(gw)), ifindex, RTF_STATIC | RTF_GATEWAY)
    }

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
    }

    #[test]
    fn flags_have_netbsd_values() {
        let table = [
            (RTF_UP, 0x1),
            (RTF_GATEWAY, 0x2),
            (RTF_HOST, 0x4),
            (RTF_REJECT, 0x8),
            (RTF_DYNAMIC, 0x10),
            (RTF_MODIFIED, 0x20),
            (RTF_DONE, 0x40),
            (RTF_MASK, 0x80),
            (RTF_CONNECTED, 0x100),
            (RTF_LLDATA, 0x400),
            (RTF_STATIC, 0x800),
            (RTF_BLACKHOLE, 0x1000),
            (RTF_PROTO2, 0x4000),
            (RTF_PROTO1, 0x8000),
            (RTF_SRC, 0x10000),
            (RTF_ANNOUNCE, 0x20000),
            (RTF_LOCAL, 0x40000),
            (RTF_BROADCAST, 0x80000),
            (RTF_UPDATING, 0x100000),
        ];
        for (i, (got, want)) in table.iter().enumerate() {
            assert_eq!(got, want, "entry {i}");
        }
    }

    #[test]
    fn mask_helpers() {
        assert_eq!(in_prefixlen_mask(0), 0);
        assert_eq!(in_prefixlen_mask(1), 0x8000_0000);
        assert_eq!(in_prefixlen_mask(24), 0xffff_ff00);
        assert_eq!(in_prefixlen_mask(32), u32::MAX);
        assert_eq!(in_prefixlen_mask(40), u32::MAX);
        for p in 0..=32u8 {
            assert_eq!(
                in_mask_prefixlen(Ipv4Addr::from(in_prefixlen_mask(p))),
                Some(p)
            );
        }
        assert_eq!(in_mask_prefixlen(a("255.0.255.0")), None);
        assert_eq!(in_mask_prefixlen(a("0.0.0.1")), None);
        let rt = net("10.1.0.0", 16, 1);
        assert_eq!(rt.netmask(), a("255.255.0.0"));
        assert!(rt.contains(a("10.1.200.3")));
        assert!(!rt.contains(a("10.2.0.0")));
    }

    #[test]
    fn longest_prefix_over_host_net_and_default() {
        let mut t = RouteTable::new();
        t.add(via("0.0.0.0", 0, "10.0.0.1", 1)).unwrap();
        t.add(net("10.0.0.0", 16, 1)).unwrap();
        t.add(net("10.0.5.0", 24, 2)).unwrap();
        t.add(Rtentry::new(
            a("10.0.5.7"),
            32,
            Some(a("10.0.0.9")),
            3,
            RTF_HOST | RTF_GATEWAY,
        ))
        .unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t.lookup(a("10.0.5.7")).unwrap().rt_ifindex, 3);
        assert_eq!(t.lookup(a("10.0.5.8")).unwrap().rt_ifindex, 2);
        let rt = t.lookup(a("10.0.9.9")).unwrap();
        assert_eq!((rt.rt_dst, rt.rt_prefixlen), (a("10.0.0.0"), 16));
        let rt = t.lookup(a("192.0.2.1")).unwrap();
        assert_eq!(rt.rt_prefixlen, 0);
        assert_eq!(rt.next_hop(a("192.0.2.1")), a("10.0.0.1"));
        assert!(rt.rt_flags & RTF_UP != 0, "add sets RTF_UP");
        let s = t.stats();
        assert_eq!((s.lookups, s.misses, s.wildcard, s.adds), (4, 0, 1, 4));
        assert_eq!(t.get(a("10.0.5.7"), 32).unwrap().rt_use, 1);
        assert_eq!(t.get(a("0.0.0.0"), 0).unwrap().rt_use, 1);
    }

    #[test]
    fn ties_same_prefix_is_eexist_and_longer_wins() {
        let mut t = RouteTable::new();
        t.add(via("10.0.0.0", 8, "192.0.2.1", 1)).unwrap();
        assert_eq!(
            t.add(via("10.0.0.0", 8, "192.0.2.2", 2)),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            t.add(net("10.200.0.0", 8, 3)),
            Err(Errno::EEXIST),
            "same prefix once masked"
        );
        assert_eq!(
            t.get(a("10.0.0.0"), 8).unwrap().rt_gateway,
            Some(a("192.0.2.1"))
        );
        // Same destination address, different lengths: both exist, the longer wins.
        t.add(net("10.0.0.0", 9, 4)).unwrap();
        t.add(net("10.0.0.0", 7, 5)).unwrap();
        assert_eq!(t.lookup(a("10.1.2.3")).unwrap().rt_ifindex, 4);
        assert_eq!(t.lookup(a("10.128.0.1")).unwrap().rt_ifindex, 1);
        assert_eq!(t.lookup(a("11.0.0.1")).unwrap().rt_ifindex, 5);
        assert_eq!(t.stats().adds, 3);
    }

    #[test]
    fn gateway_route_and_next_hop() {
        let mut t = RouteTable::new();
        t.add(net("10.0.1.0", 24, 1)).unwrap();
        t.add(via("10.2.0.0", 16, "10.0.1.1", 1)).unwrap();
        let rt = t.lookup(a("10.2.3.4")).unwrap();
        assert!(rt.rt_flags & RTF_GATEWAY != 0);
        assert_eq!(rt.next_hop(a("10.2.3.4")), a("10.0.1.1"));
        let rt = t.lookup(a("10.0.1.9")).unwrap();
        assert_eq!(rt.next_hop(a("10.0.1.9")), a("10.0.1.9"));
        let bad = Rtentry::new(a("10.3.0.0"), 16, None, 1, RTF_GATEWAY);
        assert_eq!(t.add(bad), Err(Errno::EINVAL));
    }

    #[test]
    fn delete_exact_and_by_gateway() {
        let mut t = RouteTable::new();
        t.add(via("10.2.0.0", 16, "10.0.1.1", 1)).unwrap();
        t.add(net("10.0.0.0", 8, 1)).unwrap();
        assert_eq!(t.delete(a("10.2.0.0"), 24, None), Err(Errno::ESRCH));
        assert_eq!(
            t.delete(a("10.2.0.0"), 16, Some(a("10.0.1.2"))),
            Err(Errno::ESRCH)
        );
        assert_eq!(t.delete(a("10.2.0.0"), 33, None), Err(Errno::EINVAL));
        let rt = t.delete(a("10.2.9.9"), 16, Some(a("10.0.1.1"))).unwrap();
        assert_eq!(rt.rt_dst, a("10.2.0.0"));
        assert_eq!(t.lookup(a("10.2.3.4")).unwrap().rt_prefixlen, 8);
        assert_eq!(t.delete(a("10.2.0.0"), 16, None), Err(Errno::ESRCH));
        t.delete(a("10.0.0.0"), 8, None).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.lookup(a("10.2.3.4")), None);
        let s = t.stats();
        assert_eq!((s.deletes, s.misses), (2, 1));
    }

    #[test]
    fn host_bits_are_masked() {
        let mut t = RouteTable::new();
        t.add(net("10.1.2.3", 16, 1)).unwrap();
        let rt = t.get(a("10.1.0.0"), 16).unwrap();
        assert_eq!(rt.rt_dst, a("10.1.0.0"));
        assert_eq!(t.get(a("10.1.255.255"), 16).unwrap().rt_dst, a("10.1.0.0"));
        // RTF_HOST makes a /32 whatever prefix length was asked for.
        let h = Rtentry::new(
            a("10.9.9.9"),
            8,
            Some(a("10.1.0.1")),
            1,
            RTF_HOST | RTF_GATEWAY,
        );
        t.add(h).unwrap();
        assert!(t.get(a("10.9.9.9"), 32).is_some());
        assert!(t.get(a("10.0.0.0"), 8).is_none());
        assert_eq!(t.add(net("10.0.0.0", 33, 1)), Err(Errno::EINVAL));
        assert_eq!(t.get(a("10.0.0.0"), 33), None);
    }

    #[test]
    fn down_routes_are_skipped() {
        let mut t = RouteTable::new();
        t.add(net("10.0.0.0", 8, 1)).unwrap();
        t.add(net("10.1.0.0", 16, 2)).unwrap();
        t.modify(a("10.1.0.0"), 16, |rt| {
            rt.rt_flags &= !RTF_UP;
            rt.rt_dst = a("1.2.3.4"); // undone
            rt.rt_mtu = 1280;
        })
        .unwrap();
        assert_eq!(t.get(a("10.1.0.0"), 16).unwrap().rt_mtu, 1280);
        assert_eq!(t.lookup(a("10.1.1.1")).unwrap().rt_ifindex, 1);
        assert_eq!(t.modify(a("10.2.0.0"), 16, |_| {}), Err(Errno::ESRCH));
        t.modify(a("10.1.0.0"), 16, |rt| rt.rt_flags |= RTF_UP)
            .unwrap();
        assert_eq!(t.lookup_nocount(a("10.1.1.1")).unwrap().rt_ifindex, 2);
        assert_eq!(t.stats().lookups, 1, "lookup_nocount does not count");
    }

    #[test]
    fn delete_ifindex_drops_only_that_interface() {
        let mut t = RouteTable::new();
        t.add(net("10.0.1.0", 24, 1)).unwrap();
        t.add(via("0.0.0.0", 0, "10.0.1.1", 1)).unwrap();
        t.add(net("10.0.2.0", 24, 2)).unwrap();
        t.add(via("10.9.0.0", 16, "10.0.2.1", 2)).unwrap();
        t.add(net("127.0.0.0", 8, 0)).unwrap();
        assert_eq!(t.delete_ifindex(2), 2);
        assert_eq!(t.delete_ifindex(2), 0);
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(a("10.9.1.1")).unwrap().rt_prefixlen, 0);
        assert_eq!(t.lookup(a("10.0.2.5")).unwrap().rt_prefixlen, 0);
        assert_eq!(t.delete_ifindex(1), 2);
        assert_eq!(t.lookup(a("10.9.1.1")), None);
        assert_eq!(t.stats().deletes, 4);
    }

    #[test]
    fn iter_is_ordered_by_dst_then_prefixlen() {
        let mut t = RouteTable::new();
        for (d, p) in [
            ("10.0.0.0", 16),
            ("0.0.0.0", 0),
            ("10.0.0.0", 8),
            ("192.168.1.0", 24),
        ] {
            t.add(net(d, p, 1)).unwrap();
        }
        t.add(net("10.0.0.1", 32, 1)).unwrap();
        let got: Vec<(Ipv4Addr, u8)> = t.iter().map(|rt| (rt.rt_dst, rt.rt_prefixlen)).collect();
        assert_eq!(
            got,
            [
                (a("0.0.0.0"), 0),
                (a("10.0.0.0"), 8),
                (a("10.0.0.0"), 16),
                (a("10.0.0.1"), 32),
                (a("192.168.1.0"), 24)
            ]
        );
    }

    /// The naive model: scan every route, keep the longest up prefix.
    fn linear(routes: &[Rtentry], dst: Ipv4Addr) -> Option<(Ipv4Addr, u8)> {
        routes
            .iter()
            .filter(|rt| rt.rt_flags & RTF_UP != 0 && rt.contains(dst))
            .max_by_key(|rt| rt.rt_prefixlen)
            .map(|rt| (rt.rt_dst, rt.rt_prefixlen))
    }

    #[test]
    fn random_100k_routes_match_a_linear_model() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut t = RouteTable::new();
        let mut model: Vec<Rtentry> = Vec::new();
        // Prefixes inside 10.0.0.0/8, lengths weighted towards /16../28, so that many
        // routes nest inside each other and lookups hit several lengths.
        let plen_of = |r: u64| -> u8 {
            match r % 16 {
                0 => 8 + (r / 16 % 8) as u8,
                1 => 32,
                _ => 16 + (r / 16 % 13) as u8,
            }
        };
        while model.len() < 100_000 {
            let r = rng.next();
            let dst = Ipv4Addr::from(0x0a00_0000 | (r as u32 & 0x00ff_ffff));
            let plen = plen_of(r >> 24);
            let rt = Rtentry::new(dst, plen, None, (r >> 40) as usize % 8, RTF_STATIC);
            match t.add(rt) {
                Ok(()) => model.push(t.get(dst, plen).unwrap().clone()),
                Err(e) => assert_eq!(e, Errno::EEXIST),
            }
        }
        t.add(net("0.0.0.0", 0, 9)).unwrap();
        model.push(t.get(a("0.0.0.0"), 0).unwrap().clone());
        assert_eq!(t.len(), model.len());

        let probe = |t: &mut RouteTable, model: &[Rtentry], rng: &mut XorShift, n: usize| {
            for i in 0..n {
                let r = rng.next();
                let dst = if i % 2 == 0 {
                    // Next to a known route, to land inside deep nests.
                    let base = u32::from(model[(r as usize) % model.len()].rt_dst);
                    Ipv4Addr::from(base ^ ((r >> 32) as u32 & 0xff))
                } else {
                    Ipv4Addr::from(0x0a00_0000 | (r >> 32) as u32 & 0x00ff_ffff)
                };
                let got = t.lookup(dst).map(|rt| (rt.rt_dst, rt.rt_prefixlen));
                assert_eq!(got, linear(model, dst), "lookup {dst}");
            }
        };
        probe(&mut t, &model, &mut rng, 3000);

        // Delete every third route, mark some down, and check again.
        let mut kept = Vec::new();
        for (i, rt) in model.into_iter().enumerate() {
            if i % 3 == 0 && rt.rt_prefixlen != 0 {
                t.delete(rt.rt_dst, rt.rt_prefixlen, None).unwrap();
            } else if i % 7 == 0 && rt.rt_prefixlen != 0 {
                t.modify(rt.rt_dst, rt.rt_prefixlen, |r| r.rt_flags &= !RTF_UP)
                    .unwrap();
                kept.push(t.get(rt.rt_dst, rt.rt_prefixlen).unwrap().clone());
            } else {
                kept.push(rt);
            }
        }
        assert_eq!(t.len(), kept.len());
        probe(&mut t, &kept, &mut rng, 3000);
        assert_eq!(t.stats().lookups, 6000);
        assert_eq!(t.stats().misses, 0, "the default route catches everything");
    }
}
