//! Internet addresses of interfaces and their ioctls (NetBSD: netinet/in.c in_control).
//!
//! Adding an address brings the interface up, installs the route to its subnet and
//! announces the address with a gratuitous ARP; deleting it removes the route.

use std::net::Ipv4Addr;

use crate::abi::netbsd as nb;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::net::ifnet::{flags, IfType, IFNAMSIZ};
use crate::net::route::{Rtentry, RTF_UP};

/// An address of an interface (`struct in_ifaddr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InIfaddr {
    /// The interface.
    pub ia_ifindex: usize,
    /// The address.
    pub ia_addr: Ipv4Addr,
    /// Prefix length of the subnet.
    pub ia_prefixlen: u8,
    /// Directed broadcast address of the subnet.
    pub ia_broadaddr: Ipv4Addr,
}

impl InIfaddr {
    /// The subnet mask.
    pub fn netmask(&self) -> Ipv4Addr {
        prefix_mask(self.ia_prefixlen)
    }

    /// The subnet's network address.
    pub fn net(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.ia_addr) & u32::from(self.netmask()))
    }

    /// Whether `a` is on this address's subnet.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & u32::from(self.netmask()) == u32::from(self.net())
    }
}

/// The mask of a prefix length.
pub fn prefix_mask(len: u8) -> Ipv4Addr {
    if len == 0 {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::from(u32::MAX << (32 - u32::from(len.min(32))))
    }
}

/// The prefix length of a contiguous mask, or None.
pub fn mask_prefixlen(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    let len = v.leading_ones();
    (v.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// Read an interface name from an ioctl argument's first IFNAMSIZ bytes.
fn ifname(data: &[u8]) -> KResult<String> {
    let raw = data.get(..IFNAMSIZ).ok_or(Errno::EINVAL)?;
    let end = raw.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
    std::str::from_utf8(&raw[..end])
        .map(str::to_string)
        .map_err(|_| Errno::EINVAL)
}

/// Read a NetBSD sockaddr_in at `off`: Ok(None) for an empty (zero-family) one.
fn sin_at(data: &[u8], off: usize) -> KResult<Option<Ipv4Addr>> {
    let b = data.get(off..off + 16).ok_or(Errno::EINVAL)?;
    match i32::from(b[1]) {
        0 if b[0] == 0 => Ok(None),
        nb::RUMP_AF_INET => Ok(Some(Ipv4Addr::new(b[4], b[5], b[6], b[7]))),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// Write a NetBSD sockaddr_in at `off`.
fn put_sin(data: &mut [u8], off: usize, a: Ipv4Addr) -> KResult<()> {
    let b = data.get_mut(off..off + 16).ok_or(Errno::EINVAL)?;
    b.fill(0);
    b[0] = 16;
    b[1] = nb::RUMP_AF_INET as u8;
    b[4..8].copy_from_slice(&a.octets());
    Ok(())
}

impl KernelState {
    /// The inet addresses of an interface.
    pub fn in_addrs_of(&self, ifindex: usize) -> Vec<InIfaddr> {
        self.inet().map_or_else(Vec::new, |i| {
            i.in_ifaddrs
                .iter()
                .filter(|a| a.ia_ifindex == ifindex)
                .copied()
                .collect()
        })
    }

    /// Add (or replace) an address on an interface (in_ifinit).
    ///
    /// # Errors
    /// `ENXIO` for an unknown interface, `EINVAL` for a bad mask, `EAFNOSUPPORT`
    /// without an inet stack.
    pub fn in_addr_add(
        &mut self,
        ifindex: usize,
        addr: Ipv4Addr,
        prefixlen: u8,
        broad: Option<Ipv4Addr>,
    ) -> KResult<()> {
        if prefixlen > 32 {
            return Err(Errno::EINVAL);
        }
        let (is_loop, mtu) = {
            let ifp = self.ifp(ifindex).ok_or(Errno::ENXIO)?;
            (ifp.if_type == IfType::Loop, ifp.if_mtu)
        };
        self.in_addr_delete(ifindex, addr).ok();
        let ia = InIfaddr {
            ia_ifindex: ifindex,
            ia_addr: addr,
            ia_prefixlen: prefixlen,
            ia_broadaddr: broad.unwrap_or_else(|| {
                Ipv4Addr::from(u32::from(addr) | !u32::from(prefix_mask(prefixlen)))
            }),
        };
        let inet = self.inet_mut().ok_or(Errno::EAFNOSUPPORT)?;
        inet.in_ifaddrs.push(ia);
        // The route to the attached subnet (a host route for /32).
        let rt = Rtentry {
            rt_dst: ia.net(),
            rt_prefixlen: prefixlen,
            rt_gateway: None,
            rt_ifindex: ifindex,
            rt_flags: RTF_UP | crate::net::route::RTF_CONNECTED,
            rt_use: 0,
            rt_mtu: 0,
        };
        let _ = inet.rt.delete(rt.rt_dst, rt.rt_prefixlen, None);
        inet.rt.add(rt)?;
        let _ = mtu;
        if let Some(ifp) = self.ifp_mut(ifindex) {
            ifp.if_flags |= flags::IFF_UP | flags::IFF_RUNNING;
        }
        if !is_loop {
            crate::netinet::if_inarp::arp_gratuitous(self, ifindex, addr);
        }
        Ok(())
    }

    /// Remove an address from an interface (SIOCDIFADDR).
    ///
    /// # Errors
    /// `EADDRNOTAVAIL` when the interface does not have it.
    pub fn in_addr_delete(&mut self, ifindex: usize, addr: Ipv4Addr) -> KResult<()> {
        let inet = self.inet_mut().ok_or(Errno::EADDRNOTAVAIL)?;
        let pos = inet
            .in_ifaddrs
            .iter()
            .position(|a| a.ia_ifindex == ifindex && a.ia_addr == addr)
            .ok_or(Errno::EADDRNOTAVAIL)?;
        let ia = inet.in_ifaddrs.remove(pos);
        // Keep the subnet route if another address of the interface covers it.
        let still = inet.in_ifaddrs.iter().any(|a| {
            a.ia_ifindex == ifindex && a.net() == ia.net() && a.ia_prefixlen == ia.ia_prefixlen
        });
        if !still {
            let _ = inet.rt.delete(ia.net(), ia.ia_prefixlen, None);
        }
        Ok(())
    }

    /// Interface ioctls on an inet socket (in_control + ifioctl): the paper's Figure 5.
    ///
    /// # Errors
    /// `ENXIO` (no such interface), `EADDRNOTAVAIL` (no address), `EINVAL`,
    /// `EAFNOSUPPORT`, `ENOTTY` for requests that are not interface ioctls.
    pub fn in_control(&mut self, cmd: u64, data: &mut [u8]) -> KResult<()> {
        // Only the interface group ('i') names an interface.
        if (cmd >> 8) & 0xff != u64::from(b'i') {
            return Err(Errno::ENOTTY);
        }
        let name = ifname(data)?;
        let ifindex = self.ifunit(&name).ok_or(Errno::ENXIO)?;
        match cmd {
            nb::RUMP_SIOCAIFADDR => {
                // struct ifaliasreq: name, addr at 16, broad/dst at 32, mask at 48
                let addr = sin_at(data, 16)?.ok_or(Errno::EINVAL)?;
                let broad = sin_at(data, 32)?;
                let prefixlen = match sin_at(data, 48) {
                    Ok(Some(m)) => mask_prefixlen(m).ok_or(Errno::EINVAL)?,
                    // A mask sockaddr may come with family 0: NetBSD takes the bytes.
                    Ok(None) | Err(Errno::EAFNOSUPPORT) => {
                        let b = &data[52..56];
                        let m = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
                        if m.is_unspecified() {
                            // No mask: the classful default, as in_ifinit does.
                            if addr.octets()[0] < 128 {
                                8
                            } else if addr.octets()[0] < 192 {
                                16
                            } else {
                                24
                            }
                        } else {
                            mask_prefixlen(m).ok_or(Errno::EINVAL)?
                        }
                    }
                    Err(e) => return Err(e),
                };
                self.in_addr_add(ifindex, addr, prefixlen, broad)
            }
            nb::RUMP_SIOCSIFADDR => {
                let addr = sin_at(data, 16)?.ok_or(Errno::EINVAL)?;
                let old: Vec<Ipv4Addr> = self
                    .in_addrs_of(ifindex)
                    .iter()
                    .map(|a| a.ia_addr)
                    .collect();
                if let Some(first) = old.first() {
                    self.in_addr_delete(ifindex, *first)?;
                }
                let plen = if addr.octets()[0] < 128 {
                    8
                } else if addr.octets()[0] < 192 {
                    16
                } else {
                    24
                };
                self.in_addr_add(ifindex, addr, plen, None)
            }
            nb::RUMP_SIOCDIFADDR => {
                let addr = match sin_at(data, 16)? {
                    Some(a) => a,
                    None => self
                        .in_addrs_of(ifindex)
                        .first()
                        .map(|a| a.ia_addr)
                        .ok_or(Errno::EADDRNOTAVAIL)?,
                };
                self.in_addr_delete(ifindex, addr)
            }
            nb::RUMP_SIOCGIFADDR | nb::RUMP_SIOCGIFNETMASK | nb::RUMP_SIOCGIFBRDADDR => {
                let ia = *self
                    .in_addrs_of(ifindex)
                    .first()
                    .ok_or(Errno::EADDRNOTAVAIL)?;
                let a = match cmd {
                    nb::RUMP_SIOCGIFADDR => ia.ia_addr,
                    nb::RUMP_SIOCGIFNETMASK => ia.netmask(),
                    _ => ia.ia_broadaddr,
                };
                put_sin(data, 16, a)
            }
            _ => self.ifioctl(ifindex, cmd, data),
        }
    }

    /// Address-family independent interface ioctls (NetBSD: net/if.c ifioctl).
    ///
    /// # Errors
    /// `EINVAL` for a bad value, `ENOTTY` for unknown requests.
    pub fn ifioctl(&mut self, ifindex: usize, cmd: u64, data: &mut [u8]) -> KResult<()> {
        let ifp = self.ifp_mut(ifindex).ok_or(Errno::ENXIO)?;
        let int_at = |d: &[u8]| -> KResult<i32> {
            Ok(i32::from_ne_bytes(
                d.get(16..20)
                    .ok_or(Errno::EINVAL)?
                    .try_into()
                    .map_err(|_| Errno::EINVAL)?,
            ))
        };
        match cmd {
            nb::RUMP_SIOCGIFFLAGS => {
                let f = (ifp.if_flags as i16).to_ne_bytes();
                data.get_mut(16..18)
                    .ok_or(Errno::EINVAL)?
                    .copy_from_slice(&f);
                Ok(())
            }
            nb::RUMP_SIOCSIFFLAGS => {
                let b = data.get(16..18).ok_or(Errno::EINVAL)?;
                let want = i32::from(i16::from_ne_bytes([b[0], b[1]])) & 0xffff;
                let was_up = ifp.is_up();
                ifp.if_flags =
                    (ifp.if_flags & flags::IFF_CANTCHANGE) | (want & !flags::IFF_CANTCHANGE);
                if ifp.is_up() {
                    ifp.if_flags |= flags::IFF_RUNNING;
                } else {
                    ifp.if_flags &= !flags::IFF_RUNNING;
                }
                let up = ifp.is_up();
                if up != was_up {
                    ifp.if_driver.set_up(up);
                }
                Ok(())
            }
            nb::RUMP_SIOCGIFMTU => {
                let m = ifp.if_mtu as i32;
                data.get_mut(16..20)
                    .ok_or(Errno::EINVAL)?
                    .copy_from_slice(&m.to_ne_bytes());
                Ok(())
            }
            nb::RUMP_SIOCSIFMTU => {
                let m = int_at(data)?;
                let max = if ifp.if_type == IfType::Loop {
                    65535
                } else {
                    9000
                };
                if !(68..=max).contains(&m) {
                    return Err(Errno::EINVAL);
                }
                ifp.if_mtu = m as u32;
                Ok(())
            }
            nb::RUMP_SIOCGIFINDEX => {
                let i = ifp.if_index as i32;
                data.get_mut(16..20)
                    .ok_or(Errno::EINVAL)?
                    .copy_from_slice(&i.to_ne_bytes());
                Ok(())
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// The entries of SIOCGIFCONF: (interface name, address) for every inet address,
    /// and interfaces without one with an empty address.
    pub fn ifconf(&self) -> Vec<(String, Option<Ipv4Addr>)> {
        let mut v = Vec::new();
        for ifp in self.ifnet.iter().flatten() {
            let addrs = self.in_addrs_of(ifp.if_index);
            if addrs.is_empty() {
                v.push((ifp.if_xname.clone(), None));
            }
            for a in addrs {
                v.push((ifp.if_xname.clone(), Some(a.ia_addr)));
            }
        }
        v
    }
}

impl KernelState {
    /// Whether `a` is one of our addresses (in_localaddr / ifa_ifwithaddr).
    pub fn in_is_local(&self, a: Ipv4Addr) -> bool {
        self.inet()
            .is_some_and(|i| i.in_ifaddrs.iter().any(|x| x.ia_addr == a))
    }

    /// Whether `a` is a broadcast address of one of our subnets, or the limited
    /// broadcast (in_broadcast).
    pub fn in_is_broadcast(&self, a: Ipv4Addr) -> bool {
        a.is_broadcast()
            || self.inet().is_some_and(|i| {
                i.in_ifaddrs.iter().any(|x| {
                    x.ia_prefixlen < 31
                        && (x.ia_broadaddr == a || (x.net() == a && x.ia_prefixlen < 32))
                })
            })
    }

    /// The first address of a non-loopback interface, else 127.0.0.1 (the address
    /// INADDR_ANY stands for as a destination).
    pub fn in_primary_addr(&self) -> Option<Ipv4Addr> {
        let i = self.inet()?;
        i.in_ifaddrs
            .iter()
            .find(|a| {
                self.ifp(a.ia_ifindex)
                    .is_some_and(|f| f.if_type != IfType::Loop)
            })
            .or_else(|| i.in_ifaddrs.first())
            .map(|a| a.ia_addr)
    }

    /// The source address for reaching `dst` (in_selectsrc): the address of the
    /// outgoing interface.
    ///
    /// # Errors
    /// `EHOSTUNREACH` without a route, `EADDRNOTAVAIL` when the interface has no
    /// address.
    pub fn in_selectsrc(&mut self, dst: Ipv4Addr) -> KResult<Ipv4Addr> {
        if self.in_is_local(dst) {
            return Ok(dst);
        }
        if dst.is_broadcast() {
            return self.in_primary_addr().ok_or(Errno::EADDRNOTAVAIL);
        }
        let inet = self.inet_mut().ok_or(Errno::EHOSTUNREACH)?;
        let Some(rt) = inet.rt.lookup_nocount(dst) else {
            inet.ipstat.ips_noroute += 1;
            return Err(Errno::EHOSTUNREACH);
        };
        let ifindex = rt.rt_ifindex;
        let addrs = self.in_addrs_of(ifindex);
        addrs
            .iter()
            .find(|a| a.contains(dst))
            .or(addrs.first())
            .map(|a| a.ia_addr)
            .ok_or(Errno::EADDRNOTAVAIL)
    }

    /// Add a route through a gateway (route add DEST/LEN GW): the gateway must be on a
    /// directly attached subnet.
    ///
    /// # Errors
    /// `ENETUNREACH` when no interface reaches the gateway, `EEXIST`, `EINVAL`.
    pub fn rt_add_gateway(&mut self, dst: Ipv4Addr, prefixlen: u8, gw: Ipv4Addr) -> KResult<()> {
        let inet = self.inet_mut().ok_or(Errno::EAFNOSUPPORT)?;
        let ia = inet
            .in_ifaddrs
            .iter()
            .find(|a| a.contains(gw))
            .copied()
            .ok_or(Errno::ENETUNREACH)?;
        let mut flags = RTF_UP | crate::net::route::RTF_GATEWAY | crate::net::route::RTF_STATIC;
        if prefixlen == 32 {
            flags |= crate::net::route::RTF_HOST;
        }
        inet.rt.add(Rtentry {
            rt_dst: dst,
            rt_prefixlen: prefixlen,
            rt_gateway: Some(gw),
            rt_ifindex: ia.ia_ifindex,
            rt_flags: flags,
            rt_use: 0,
            rt_mtu: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_prefixes() {
        assert_eq!(prefix_mask(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(prefix_mask(0), Ipv4Addr::UNSPECIFIED);
        assert_eq!(prefix_mask(32), Ipv4Addr::BROADCAST);
        assert_eq!(mask_prefixlen(Ipv4Addr::new(255, 255, 240, 0)), Some(20));
        assert_eq!(mask_prefixlen(Ipv4Addr::new(255, 0, 255, 0)), None);
        assert_eq!(mask_prefixlen(Ipv4Addr::BROADCAST), Some(32));
        assert_eq!(mask_prefixlen(Ipv4Addr::UNSPECIFIED), Some(0));
        let ia = InIfaddr {
            ia_ifindex: 1,
            ia_addr: Ipv4Addr::new(10, 0, 1, 2),
            ia_prefixlen: 24,
            ia_broadaddr: Ipv4Addr::new(10, 0, 1, 255),
        };
        assert!(ia.contains(Ipv4Addr::new(10, 0, 1, 200)));
        assert!(!ia.contains(Ipv4Addr::new(10, 0, 2, 1)));
        assert_eq!(ia.net(), Ipv4Addr::new(10, 0, 1, 0));
    }
}
