//! Routing socket messages: the bytes route(8) writes to a PF_ROUTE socket and reads
//! back (NetBSD: net/route.h `struct rt_msghdr`; net/rtsock_shared.c `route_output`,
//! `rt_xaddrs`, `rt_msg2`). Wire format only; the socket lives elsewhere.
//!
//! # Layout
//!
//! A message is a 120-byte `rt_msghdr` ([`abi::rump_rt_msghdr`], fields in host byte
//! order) followed by the sockaddrs that `rtm_addrs` names, in `RTAX_*` order (dst,
//! gateway, netmask, genmask, ifp, ifa, author, brd, tag). Each occupies
//! `RT_ROUNDUP(sa_len)` bytes: `sa_len` rounded up to a multiple of 8
//! (`sizeof(uint64_t)`, NetBSD 8 and later), and 8 when `sa_len` is 0.
//!
//! # What [`RtMsg::parse`] checks, in NetBSD's order
//!
//! 1. The buffer holds a whole header and `rtm_msglen` is the buffer's length:
//!    else `EINVAL`.
//! 2. `rtm_version` is [`RTM_VERSION`]: else `EPROTONOSUPPORT`.
//! 3. The sockaddrs fill the message exactly, as `rt_xaddrs` demands: every address
//!    `rtm_addrs` names is present (for `RTM_GET`, IFP and IFA may be missing) and the
//!    last ends where the message ends. One exception, kept by NetBSD for old binaries:
//!    a final netmask may end at `sa_len` without its padding. Else `EINVAL`.
//! 4. A destination is present and its family is below `AF_MAX`, and so is the
//!    gateway's: else `EINVAL`.
//!
//! Then rumpnet's own limits: destination, ifa, author and brd addresses must be
//! `AF_INET` and the gateway `AF_INET` or `AF_LINK` (`EAFNOSUPPORT`), interface
//! sockaddrs `AF_LINK` (`EAFNOSUPPORT`), `AF_INET` sockaddrs at least 8 bytes long and
//! `sockaddr_dl`s consistent with their length (`EINVAL`), and no MPLS tag
//! (`EOPNOTSUPP`).
//!
//! Netmasks need care: route(8) trims trailing zero bytes off a netmask and shortens
//! its `sa_len` to match (`route add default` sends `sa_len` 0; a /16 sends 6), and
//! its family byte may be anything. Like `route_output`, the parser zero-extends a
//! mask to a whole `sockaddr_in` and ignores its family. [`RtMsg::emit`] trims masks
//! the same way, so it reproduces route(8)'s bytes.
//!
//! Left to the socket, after `parse` (NetBSD's `route_output` switch): `RTM_ADD`
//! without a gateway is `EINVAL`, an unknown `rtm_type` is `EOPNOTSUPP`, `RTM_DELETE`
//! or `RTM_GET` of a missing route is `ESRCH`; the reply carries `rtm_errno` or
//! `RTF_DONE` and the sender's pid. A message without a netmask names a host route.
//!
//! Parsing never panics and never reads outside the buffer, whatever the lengths claim.

use std::mem::{offset_of, size_of};
use std::net::Ipv4Addr;

use crate::abi::netbsd::{self as abi, rump_rt_metrics, rump_rt_msghdr};
use crate::kern::errno::Errno;
use crate::net::route::{in_mask_prefixlen, RTF_HOST};

/// Version of the message format (`rtm_version`).
pub const RTM_VERSION: u8 = abi::RUMP_RTM_VERSION as u8;

// Message types (`rtm_type`).
/// Add a route.
pub const RTM_ADD: u8 = abi::RUMP_RTM_ADD as u8;
/// Delete a route.
pub const RTM_DELETE: u8 = abi::RUMP_RTM_DELETE as u8;
/// Change a route's gateway, interface, flags or metrics.
pub const RTM_CHANGE: u8 = abi::RUMP_RTM_CHANGE as u8;
/// Report a route.
pub const RTM_GET: u8 = abi::RUMP_RTM_GET as u8;
/// The kernel suspects a route is failing.
pub const RTM_LOSING: u8 = abi::RUMP_RTM_LOSING as u8;
/// An ICMP redirect changed a route.
pub const RTM_REDIRECT: u8 = abi::RUMP_RTM_REDIRECT as u8;
/// A lookup found no route.
pub const RTM_MISS: u8 = abi::RUMP_RTM_MISS as u8;
/// Lock metrics.
pub const RTM_LOCK: u8 = abi::RUMP_RTM_LOCK as u8;
/// Interface arrival or departure.
pub const RTM_IFANNOUNCE: u8 = abi::RUMP_RTM_IFANNOUNCE as u8;
/// Interface up, down or changed.
pub const RTM_IFINFO: u8 = abi::RUMP_RTM_IFINFO as u8;
/// Address added to an interface.
pub const RTM_NEWADDR: u8 = abi::RUMP_RTM_NEWADDR as u8;
/// Address removed from an interface.
pub const RTM_DELADDR: u8 = abi::RUMP_RTM_DELADDR as u8;
/// Address properties changed.
pub const RTM_CHGADDR: u8 = abi::RUMP_RTM_CHGADDR as u8;

// Address bits (`rtm_addrs`).
/// Destination present.
pub const RTA_DST: i32 = abi::RUMP_RTA_DST;
/// Gateway present.
pub const RTA_GATEWAY: i32 = abi::RUMP_RTA_GATEWAY;
/// Netmask present.
pub const RTA_NETMASK: i32 = abi::RUMP_RTA_NETMASK;
/// Cloning mask present.
pub const RTA_GENMASK: i32 = abi::RUMP_RTA_GENMASK;
/// Interface (link-level sockaddr) present.
pub const RTA_IFP: i32 = abi::RUMP_RTA_IFP;
/// Interface address present.
pub const RTA_IFA: i32 = abi::RUMP_RTA_IFA;
/// Author of a redirect present.
pub const RTA_AUTHOR: i32 = abi::RUMP_RTA_AUTHOR;
/// Broadcast or point-to-point destination present.
pub const RTA_BRD: i32 = abi::RUMP_RTA_BRD;
/// MPLS tag present.
pub const RTA_TAG: i32 = abi::RUMP_RTA_TAG;

/// Number of sockaddr slots (`RTAX_MAX`).
const RTAX_MAX: usize = abi::RUMP_RTAX_MAX as usize;
const RTAX_DST: usize = abi::RUMP_RTAX_DST as usize;
const RTAX_GATEWAY: usize = abi::RUMP_RTAX_GATEWAY as usize;
const RTAX_NETMASK: usize = abi::RUMP_RTAX_NETMASK as usize;
const RTAX_GENMASK: usize = abi::RUMP_RTAX_GENMASK as usize;
const RTAX_IFP: usize = abi::RUMP_RTAX_IFP as usize;
const RTAX_IFA: usize = abi::RUMP_RTAX_IFA as usize;
const RTAX_AUTHOR: usize = abi::RUMP_RTAX_AUTHOR as usize;
const RTAX_BRD: usize = abi::RUMP_RTAX_BRD as usize;
const RTAX_TAG: usize = abi::RUMP_RTAX_TAG as usize;

/// Length of `struct rt_msghdr`.
pub const RT_MSGHDR_LEN: usize = size_of::<rump_rt_msghdr>();

const AF_INET: u8 = abi::RUMP_AF_INET as u8;
const AF_LINK: u8 = abi::RUMP_AF_LINK as u8;
const AF_MAX: u8 = abi::RUMP_AF_MAX as u8;
/// `sizeof(struct sockaddr_in)`.
const SIN_LEN: usize = 16;
/// `sizeof(struct sockaddr_dl)`: the header and a 12-byte `sdl_data`.
const SDL_LEN: usize = 20;
/// Offset of `sdl_data` in `struct sockaddr_dl`.
const SDL_DATA: usize = 8;

/// NetBSD's `RT_ROUNDUP`: the room a sockaddr of `sa_len` bytes takes in a message.
pub const fn rt_roundup(sa_len: usize) -> usize {
    if sa_len == 0 {
        8
    } else {
        1 + ((sa_len - 1) | 7)
    }
}

/// Byte ranges of the `rt_msghdr` fields, from the `#[repr(C)]` struct itself.
mod field {
    use super::*;
    use std::ops::Range;

    const fn at(off: usize, len: usize) -> Range<usize> {
        off..off + len
    }

    pub const MSGLEN: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_msglen), 2);
    pub const VERSION: usize = offset_of!(rump_rt_msghdr, rtm_version);
    pub const TYPE: usize = offset_of!(rump_rt_msghdr, rtm_type);
    pub const INDEX: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_index), 2);
    pub const FLAGS: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_flags), 4);
    pub const ADDRS: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_addrs), 4);
    pub const PID: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_pid), 4);
    pub const SEQ: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_seq), 4);
    pub const ERRNO: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_errno), 4);
    pub const USE: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_use), 4);
    pub const INITS: Range<usize> = at(offset_of!(rump_rt_msghdr, rtm_inits), 4);
    /// `rtm_rmx`: eight u64 metrics then two time_t.
    pub const RMX: usize = offset_of!(rump_rt_msghdr, rtm_rmx);
}

/// A parsed routing message (NetBSD: `struct rt_msghdr` plus `struct rt_addrinfo`).
/// `rtm_version`, `rtm_msglen` and `rtm_addrs` are not stored: [`RtMsg::emit`] derives
/// them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RtMsg {
    /// `RTM_*`.
    pub rtm_type: u8,
    /// `RTF_*` flags of the route.
    pub rtm_flags: i32,
    /// Interface index.
    pub rtm_index: u16,
    /// Sender's pid (the kernel fills it in on replies).
    pub rtm_pid: i32,
    /// Sender's sequence number, echoed in the reply.
    pub rtm_seq: i32,
    /// Why the request failed (replies).
    pub rtm_errno: i32,
    /// The route's use count (replies).
    pub rtm_use: i32,
    /// Which metrics `rtm_rmx` initialises (`RTV_*`).
    pub rtm_inits: i32,
    /// The metrics.
    pub rtm_rmx: rump_rt_metrics,
    /// `RTA_DST`.
    pub dst: Option<Ipv4Addr>,
    /// `RTA_GATEWAY` as an `AF_INET` address.
    pub gateway: Option<Ipv4Addr>,
    /// `RTA_GATEWAY` as an `AF_LINK` address: its `sdl_index` (a connected route's
    /// gateway in replies; arp(8)). [`RtMsg::emit`] writes `gateway` when both are set.
    pub gateway_link: Option<u16>,
    /// `RTA_NETMASK`, zero-extended.
    pub netmask: Option<Ipv4Addr>,
    /// `RTA_GENMASK`, zero-extended.
    pub genmask: Option<Ipv4Addr>,
    /// `RTA_IFP`: the `sdl_index` of the interface's link-level sockaddr (0 when
    /// route(8) asks `get` for the interface with an empty one).
    pub ifp_index: Option<u16>,
    /// `RTA_IFP`: the interface name in that sockaddr, when it has one. Written only
    /// when `ifp_index` is set.
    pub ifp_name: Option<String>,
    /// `RTA_IFA`: the interface address to use.
    pub ifa: Option<Ipv4Addr>,
    /// `RTA_AUTHOR`: who sent the redirect.
    pub author: Option<Ipv4Addr>,
    /// `RTA_BRD`: broadcast or point-to-point destination.
    pub brd: Option<Ipv4Addr>,
}

fn ne_u16(b: &[u8], r: std::ops::Range<usize>) -> u16 {
    b.get(r)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_ne_bytes)
}

fn ne_i32(b: &[u8], r: std::ops::Range<usize>) -> i32 {
    b.get(r)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

fn ne_u64(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// One sockaddr of a message: its `sa_len` bytes, and the family byte even when
/// `sa_len` is too short to cover it (route(8)'s zero-length default netmask still
/// says `AF_INET` in its padding).
#[derive(Clone, Copy)]
struct Sa<'a> {
    bytes: &'a [u8],
    family: u8,
}

impl Sa<'_> {
    /// Byte `i`, or 0 beyond `sa_len`.
    fn byte(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// An `AF_INET` address.
    fn inet(&self) -> Result<Ipv4Addr, Errno> {
        if self.family != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        if self.bytes.len() < 8 {
            return Err(Errno::EINVAL);
        }
        Ok(self.mask())
    }

    /// A netmask: `sin_addr`, zero-extended past `sa_len`, whatever the family.
    fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.byte(4), self.byte(5), self.byte(6), self.byte(7))
    }

    /// An `AF_LINK` address: (`sdl_index`, name).
    fn link(&self) -> Result<(u16, Option<String>), Errno> {
        if self.family != AF_LINK {
            return Err(Errno::EAFNOSUPPORT);
        }
        let b = self.bytes;
        if b.len() < SDL_DATA {
            return Err(Errno::EINVAL);
        }
        let index = u16::from_ne_bytes([b[2], b[3]]);
        let (nlen, alen, slen) = (usize::from(b[5]), usize::from(b[6]), usize::from(b[7]));
        if SDL_DATA + nlen + alen + slen > b.len() {
            return Err(Errno::EINVAL);
        }
        let name = &b[SDL_DATA..SDL_DATA + nlen];
        let name = match name {
            [] => None,
            n => Some(String::from_utf8(n.to_vec()).map_err(|_| Errno::EINVAL)?),
        };
        Ok((index, name))
    }
}

/// NetBSD's `rt_xaddrs`: finds the sockaddrs `addrs` names in `buf[RT_MSGHDR_LEN..]`.
fn rt_xaddrs(rtm_type: u8, addrs: u32, buf: &[u8]) -> Result<[Option<Sa<'_>>; RTAX_MAX], Errno> {
    let lim = buf.len();
    let mut info: [Option<Sa<'_>>; RTAX_MAX] = [None; RTAX_MAX];
    let mut cp = RT_MSGHDR_LEN;
    let mut last: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < RTAX_MAX && cp < lim {
        if addrs & (1 << i) != 0 {
            let sa_len = usize::from(buf[cp]);
            info[i] = Some(Sa {
                bytes: buf.get(cp..cp + sa_len).unwrap_or(&[]),
                family: buf.get(cp + 1).copied().unwrap_or(0),
            });
            last = Some((cp, sa_len));
            cp += rt_roundup(sa_len);
        }
        i += 1;
    }
    // Every address named must be there; RTM_GET may leave out the interface ones,
    // which the reply fills in.
    let mut missing = addrs & (u32::MAX << i);
    if rtm_type == RTM_GET {
        missing &= !((RTA_IFP | RTA_IFA) as u32);
    }
    if missing != 0 {
        return Err(Errno::EINVAL);
    }
    if cp != lim {
        // The one tolerated shortfall: a final netmask without its padding.
        match last {
            Some((start, sa_len)) if i == RTAX_NETMASK + 1 && start + sa_len == lim => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    // A sockaddr whose sa_len ran past the end has been refused above, so every
    // `bytes` is its whole sa_len.
    Ok(info)
}

/// Appends a sockaddr slot: `sa` (whose first byte is its `sa_len`) padded with
/// zeros to `RT_ROUNDUP(sa_len)`. Bytes of `sa` past `sa_len` are copied too, as
/// route(8)'s `NEXTADDR` does: that is where a trimmed netmask keeps its family.
fn push_sa(out: &mut Vec<u8>, sa: &[u8]) {
    let room = rt_roundup(usize::from(sa.first().copied().unwrap_or(0)));
    let start = out.len();
    out.extend(sa.iter().take(room));
    out.resize(start + room, 0);
}

fn sockaddr_in(addr: Ipv4Addr) -> [u8; SIN_LEN] {
    let mut sa = [0u8; SIN_LEN];
    sa[0] = SIN_LEN as u8;
    sa[1] = AF_INET;
    sa[4..8].copy_from_slice(&addr.octets());
    sa
}

/// A netmask as route(8) sends it: `sa_len` cut after the last non-zero byte, 0 for
/// an all-zero mask, the family kept in the padding.
fn sockaddr_mask(mask: Ipv4Addr) -> [u8; SIN_LEN] {
    let mut sa = sockaddr_in(mask);
    let o = mask.octets();
    sa[0] = o
        .iter()
        .rposition(|b| *b != 0)
        .map_or(0, |i| 4 + i as u8 + 1);
    sa
}

/// A `sockaddr_dl` with an index and optionally a name (no link-level address).
fn sockaddr_dl(index: u16, name: Option<&str>) -> Vec<u8> {
    // Interface names are short; a longer one is cut to what sdl_nlen can say.
    let name = name.map_or(&[][..], str::as_bytes);
    let name = &name[..name.len().min(usize::from(u8::MAX) - SDL_DATA)];
    let len = (SDL_DATA + name.len()).max(SDL_LEN);
    let mut sa = vec![0u8; len];
    sa[0] = len as u8;
    sa[1] = AF_LINK;
    sa[2..4].copy_from_slice(&index.to_ne_bytes());
    sa[5] = name.len() as u8;
    sa[SDL_DATA..SDL_DATA + name.len()].copy_from_slice(name);
    sa
}

impl RtMsg {
    /// Parses a message written to a routing socket (NetBSD: the checks of
    /// `route_output` before its switch; see the module documentation).
    ///
    /// # Errors
    ///
    /// `EINVAL` for a short message, a wrong `rtm_msglen`, sockaddrs that do not fill
    /// the message, or a missing destination; `EPROTONOSUPPORT` for a version other
    /// than 4; `EAFNOSUPPORT` or `EOPNOTSUPP` for addresses rumpnet cannot route.
    pub fn parse(buf: &[u8]) -> Result<RtMsg, Errno> {
        if buf.len() < RT_MSGHDR_LEN || usize::from(ne_u16(buf, field::MSGLEN)) != buf.len() {
            return Err(Errno::EINVAL);
        }
        if buf[field::VERSION] != RTM_VERSION {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let rtm_type = buf[field::TYPE];
        let addrs = ne_i32(buf, field::ADDRS) as u32;
        let info = rt_xaddrs(rtm_type, addrs, buf)?;

        let Some(dst) = info[RTAX_DST] else {
            return Err(Errno::EINVAL);
        };
        if dst.family >= AF_MAX || info[RTAX_GATEWAY].is_some_and(|g| g.family >= AF_MAX) {
            return Err(Errno::EINVAL);
        }
        if info[RTAX_TAG].is_some() {
            return Err(Errno::EOPNOTSUPP);
        }
        let inet = |i: usize| info[i].map(|sa| sa.inet()).transpose();
        let (gateway, gateway_link) = match info[RTAX_GATEWAY] {
            None => (None, None),
            Some(sa) if sa.family == AF_LINK => (None, Some(sa.link()?.0)),
            Some(sa) => (Some(sa.inet()?), None),
        };
        let (ifp_index, ifp_name) = match info[RTAX_IFP] {
            None => (None, None),
            Some(sa) => {
                let (index, name) = sa.link()?;
                (Some(index), name)
            }
        };
        let r = field::RMX;
        let rmx = rump_rt_metrics {
            rmx_locks: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_locks)),
            rmx_mtu: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_mtu)),
            rmx_hopcount: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_hopcount)),
            rmx_recvpipe: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_recvpipe)),
            rmx_sendpipe: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_sendpipe)),
            rmx_ssthresh: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_ssthresh)),
            rmx_rtt: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_rtt)),
            rmx_rttvar: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_rttvar)),
            rmx_expire: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_expire)) as i64,
            rmx_pksent: ne_u64(buf, r + offset_of!(rump_rt_metrics, rmx_pksent)) as i64,
        };
        Ok(RtMsg {
            rtm_type,
            rtm_flags: ne_i32(buf, field::FLAGS),
            rtm_index: ne_u16(buf, field::INDEX),
            rtm_pid: ne_i32(buf, field::PID),
            rtm_seq: ne_i32(buf, field::SEQ),
            rtm_errno: ne_i32(buf, field::ERRNO),
            rtm_use: ne_i32(buf, field::USE),
            rtm_inits: ne_i32(buf, field::INITS),
            rtm_rmx: rmx,
            dst: Some(dst.inet()?),
            gateway,
            gateway_link,
            netmask: info[RTAX_NETMASK].map(|sa| sa.mask()),
            genmask: info[RTAX_GENMASK].map(|sa| sa.mask()),
            ifp_index,
            ifp_name,
            ifa: inet(RTAX_IFA)?,
            author: inet(RTAX_AUTHOR)?,
            brd: inet(RTAX_BRD)?,
        })
    }

    /// The `rtm_addrs` bits of the sockaddrs this message carries.
    pub fn rtm_addrs(&self) -> i32 {
        let mut a = 0;
        let bits = [
            (self.dst.is_some(), RTA_DST),
            (
                self.gateway.is_some() || self.gateway_link.is_some(),
                RTA_GATEWAY,
            ),
            (self.netmask.is_some(), RTA_NETMASK),
            (self.genmask.is_some(), RTA_GENMASK),
            (self.ifp_index.is_some(), RTA_IFP),
            (self.ifa.is_some(), RTA_IFA),
            (self.author.is_some(), RTA_AUTHOR),
            (self.brd.is_some(), RTA_BRD),
        ];
        for (present, bit) in bits {
            if present {
                a |= bit;
            }
        }
        a
    }

    /// The sockaddrs, in `RTAX_*` order, as [`push_sa`] wants them.
    fn sockaddrs(&self) -> Vec<Vec<u8>> {
        let mut sas = Vec::new();
        if let Some(d) = self.dst {
            sas.push(sockaddr_in(d).to_vec());
        }
        match (self.gateway, self.gateway_link) {
            (Some(g), _) => sas.push(sockaddr_in(g).to_vec()),
            (None, Some(index)) => sas.push(sockaddr_dl(index, None)),
            (None, None) => {}
        }
        for m in [self.netmask, self.genmask].into_iter().flatten() {
            sas.push(sockaddr_mask(m).to_vec());
        }
        if let Some(index) = self.ifp_index {
            sas.push(sockaddr_dl(index, self.ifp_name.as_deref()));
        }
        for a in [self.ifa, self.author, self.brd].into_iter().flatten() {
            sas.push(sockaddr_in(a).to_vec());
        }
        sas
    }

    /// The length [`RtMsg::emit`] produces (`rtm_msglen`).
    pub fn buffer_len(&self) -> usize {
        RT_MSGHDR_LEN
            + self
                .sockaddrs()
                .iter()
                .map(|sa| rt_roundup(usize::from(sa[0])))
                .sum::<usize>()
    }

    /// The message's bytes, with `rtm_msglen`, `rtm_version` and `rtm_addrs` filled
    /// in (NetBSD: `rt_msg2`). Netmasks are trimmed as route(8) trims them.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![0u8; RT_MSGHDR_LEN];
        for sa in self.sockaddrs() {
            push_sa(&mut out, &sa);
        }
        // Messages are a header and at most eight short sockaddrs: far below 64 KiB.
        let msglen = u16::try_from(out.len()).unwrap_or(u16::MAX);
        out[field::MSGLEN].copy_from_slice(&msglen.to_ne_bytes());
        out[field::VERSION] = RTM_VERSION;
        out[field::TYPE] = self.rtm_type;
        out[field::INDEX].copy_from_slice(&self.rtm_index.to_ne_bytes());
        out[field::FLAGS].copy_from_slice(&self.rtm_flags.to_ne_bytes());
        out[field::ADDRS].copy_from_slice(&self.rtm_addrs().to_ne_bytes());
        out[field::PID].copy_from_slice(&self.rtm_pid.to_ne_bytes());
        out[field::SEQ].copy_from_slice(&self.rtm_seq.to_ne_bytes());
        out[field::ERRNO].copy_from_slice(&self.rtm_errno.to_ne_bytes());
        out[field::USE].copy_from_slice(&self.rtm_use.to_ne_bytes());
        out[field::INITS].copy_from_slice(&self.rtm_inits.to_ne_bytes());
        let m = &self.rtm_rmx;
        let metrics = [
            m.rmx_locks,
            m.rmx_mtu,
            m.rmx_hopcount,
            m.rmx_recvpipe,
            m.rmx_sendpipe,
            m.rmx_ssthresh,
            m.rmx_rtt,
            m.rmx_rttvar,
            m.rmx_expire as u64,
            m.rmx_pksent as u64,
        ];
        for (i, v) in metrics.iter().enumerate() {
            let off = field::RMX + 8 * i;
            out[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        }
        out
    }

    /// The prefix length the message names: 32 for a host route (`RTF_HOST`, or no
    /// netmask, as NetBSD's radix tree treats a maskless key), else the netmask's.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a netmask whose one bits are not contiguous, which NetBSD accepts
    /// and rumpnet's table cannot hold.
    pub fn prefixlen(&self) -> Result<u8, Errno> {
        match self.netmask {
            _ if self.rtm_flags as u32 & RTF_HOST != 0 => Ok(32),
            None => Ok(32),
            Some(m) => in_mask_prefixlen(m).ok_or(Errno::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::route::{RTF_GATEWAY, RTF_STATIC, RTF_UP};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A header as route(8) fills it: type, flags, version, seq 1, addrs; the rest 0.
    fn header(rtm_type: u8, flags: i32, addrs: i32, msglen: u16) -> Vec<u8> {
        let mut h = vec![0u8; 120];
        h[0..2].copy_from_slice(&msglen.to_ne_bytes());
        h[2] = 4;
        h[3] = rtm_type;
        h[8..12].copy_from_slice(&flags.to_ne_bytes());
        h[12..16].copy_from_slice(&addrs.to_ne_bytes());
        h[20..24].copy_from_slice(&1i32.to_ne_bytes());
        h
    }

    /// `route add default 10.0.0.1`, by hand from NetBSD's route(8): dst 0.0.0.0 and
    /// gateway as full sockaddr_ins; the "default" netmask has sa_len 0 and family
    /// AF_INET, and RT_ROUNDUP(0) gives it 8 bytes.
    fn route_add_default() -> Vec<u8> {
        let mut m = header(1, 0x803, 0x7, 160);
        m.extend([16, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend([16, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend([0, 2, 0, 0, 0, 0, 0, 0]);
        m
    }

    /// `route add -net 10.1.0.0/16 10.0.0.1`: the netmask 255.255.0.0 trimmed by
    /// mask_addr to sa_len 6, padded to 8.
    fn route_add_net16() -> Vec<u8> {
        let mut m = header(1, 0x803, 0x7, 160);
        m.extend([16, 2, 0, 0, 10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend([16, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend([6, 2, 0, 0, 255, 255, 0, 0]);
        m
    }

    fn add_msg(dst: &str, mask: &str) -> RtMsg {
        RtMsg {
            rtm_type: RTM_ADD,
            rtm_flags: (RTF_UP | RTF_GATEWAY | RTF_STATIC) as i32,
            rtm_seq: 1,
            dst: Some(a(dst)),
            gateway: Some(a("10.0.0.1")),
            netmask: Some(a(mask)),
            ..RtMsg::default()
        }
    }

    fn set_msglen(m: &mut [u8], len: usize) {
        m[0..2].copy_from_slice(&(len as u16).to_ne_bytes());
    }

    #[test]
    fn constants_have_netbsd_values() {
        assert_eq!(RTM_VERSION, 4);
        assert_eq!(RT_MSGHDR_LEN, 120);
        let types = [
            (RTM_ADD, 1),
            (RTM_DELETE, 2),
            (RTM_CHANGE, 3),
            (RTM_GET, 4),
            (RTM_LOSING, 5),
            (RTM_REDIRECT, 6),
            (RTM_MISS, 7),
            (RTM_LOCK, 8),
            (RTM_IFANNOUNCE, 0x10),
            (RTM_IFINFO, 0x14),
            (RTM_NEWADDR, 0x16),
            (RTM_DELADDR, 0x17),
            (RTM_CHGADDR, 0x18),
        ];
        for (got, want) in types {
            assert_eq!(got, want);
        }
        let bits = [
            RTA_DST,
            RTA_GATEWAY,
            RTA_NETMASK,
            RTA_GENMASK,
            RTA_IFP,
            RTA_IFA,
        ];
        for (i, bit) in bits.iter().enumerate() {
            assert_eq!(*bit, 1 << i);
        }
        assert_eq!((RTA_AUTHOR, RTA_BRD, RTA_TAG), (0x40, 0x80, 0x100));
        assert_eq!([rt_roundup(0), rt_roundup(1), rt_roundup(8)], [8, 8, 8]);
        assert_eq!(
            [rt_roundup(9), rt_roundup(16), rt_roundup(20)],
            [16, 16, 24]
        );
        assert_eq!(field::RMX, 40);
        assert_eq!(
            (field::INDEX, field::FLAGS, field::INITS),
            (4..6, 8..12, 32..36)
        );
    }

    #[test]
    fn route_add_default_bytes() {
        let bytes = route_add_default();
        let m = RtMsg::parse(&bytes).unwrap();
        assert_eq!(m, add_msg("0.0.0.0", "0.0.0.0"));
        assert_eq!(m.prefixlen(), Ok(0));
        assert_eq!(m.emit(), bytes, "emit reproduces route(8)");
        assert_eq!(m.buffer_len(), 160);
    }

    #[test]
    fn route_add_net_bytes() {
        let bytes = route_add_net16();
        let m = RtMsg::parse(&bytes).unwrap();
        assert_eq!(m, add_msg("10.1.0.0", "255.255.0.0"));
        assert_eq!(m.prefixlen(), Ok(16));
        assert_eq!(m.emit(), bytes);
        // An older binary's length: the netmask without its padding.
        let mut short = bytes[..158].to_vec();
        set_msglen(&mut short, 158);
        assert_eq!(RtMsg::parse(&short), Ok(m));
    }

    #[test]
    fn round_trip_every_field() {
        let m = RtMsg {
            rtm_type: RTM_GET,
            rtm_flags: 0x0804_0803,
            rtm_index: 3,
            rtm_pid: 4242,
            rtm_seq: -7,
            rtm_errno: 0,
            rtm_use: 99,
            rtm_inits: 0x81,
            rtm_rmx: rump_rt_metrics {
                rmx_locks: 1,
                rmx_mtu: 1400,
                rmx_hopcount: 3,
                rmx_recvpipe: 4,
                rmx_sendpipe: 5,
                rmx_ssthresh: 6,
                rmx_rtt: 7,
                rmx_rttvar: 8,
                rmx_expire: -9,
                rmx_pksent: 10,
            },
            dst: Some(a("192.0.2.0")),
            gateway: Some(a("10.0.0.1")),
            gateway_link: None,
            netmask: Some(a("255.255.255.128")),
            genmask: Some(a("255.255.255.255")),
            ifp_index: Some(3),
            ifp_name: Some("shmif0".into()),
            ifa: Some(a("10.0.0.2")),
            author: Some(a("10.0.0.3")),
            brd: Some(a("10.0.0.255")),
        };
        let bytes = m.emit();
        assert_eq!(bytes.len(), m.buffer_len());
        assert_eq!(bytes.len(), 120 + 16 + 16 + 8 + 8 + 24 + 16 + 16 + 16);
        assert_eq!(RtMsg::parse(&bytes), Ok(m.clone()));
        // A link-level gateway instead, and no name on the interface.
        let m2 = RtMsg {
            gateway: None,
            gateway_link: Some(7),
            ifp_name: None,
            ..m
        };
        assert_eq!(RtMsg::parse(&m2.emit()), Ok(m2));
    }

    #[test]
    fn route_get_with_empty_ifp() {
        // route(8) `get 10.0.0.5`: dst, then an all-zero sockaddr_dl asking for the
        // interface.
        let mut bytes = header(RTM_GET, 0x801, RTA_DST | RTA_IFP, 160);
        bytes.extend([16, 2, 0, 0, 10, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend([20, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend([0, 0, 0, 0]);
        let m = RtMsg::parse(&bytes).unwrap();
        assert_eq!(
            (m.dst, m.ifp_index, m.ifp_name.as_deref()),
            (Some(a("10.0.0.5")), Some(0), None)
        );
        assert_eq!(m.prefixlen(), Ok(32), "no netmask: a host");
        assert_eq!(m.emit(), bytes);
        // RTM_GET may leave out IFP and IFA although it names them.
        let mut get = header(RTM_GET, 0, RTA_DST | RTA_IFP | RTA_IFA, 136);
        get.extend(&bytes[120..136]);
        assert_eq!(RtMsg::parse(&get).unwrap().ifp_index, None);
        // Any other type may not.
        get[3] = RTM_DELETE;
        assert_eq!(RtMsg::parse(&get), Err(Errno::EINVAL));
    }

    #[test]
    fn truncations_at_every_length() {
        for bytes in [route_add_default(), route_add_net16()] {
            for len in 0..bytes.len() {
                assert_eq!(
                    RtMsg::parse(&bytes[..len]),
                    Err(Errno::EINVAL),
                    "cut at {len}"
                );
                if len >= 2 {
                    // Cut and relabel: only the netmask's unpadded end may pass.
                    let mut cut = bytes[..len].to_vec();
                    set_msglen(&mut cut, len);
                    let got = RtMsg::parse(&cut);
                    if len == 158 && bytes[152] == 6 {
                        assert!(got.is_ok());
                    } else {
                        assert_eq!(got, Err(Errno::EINVAL), "relabelled cut at {len}");
                    }
                }
            }
            let mut long = bytes.clone();
            long.push(0);
            assert_eq!(RtMsg::parse(&long), Err(Errno::EINVAL), "msglen says less");
            set_msglen(&mut long, bytes.len() + 1);
            assert_eq!(RtMsg::parse(&long), Err(Errno::EINVAL), "trailing byte");
        }
    }

    #[test]
    fn header_errors() {
        let mut m = route_add_net16();
        m[2] = 3;
        assert_eq!(RtMsg::parse(&m), Err(Errno::EPROTONOSUPPORT));
        // No destination.
        let mut m = header(RTM_ADD, 0, RTA_GATEWAY, 136);
        m.extend([16, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(RtMsg::parse(&m), Err(Errno::EINVAL));
        // Bits beyond RTAX_MAX.
        let mut m = route_add_default();
        m[12..16].copy_from_slice(&(0x7 | 0x200i32).to_ne_bytes());
        assert_eq!(RtMsg::parse(&m), Err(Errno::EINVAL));
        // A named address that is not there.
        let mut m = route_add_default();
        m[12..16].copy_from_slice(&(0x7 | RTA_AUTHOR).to_ne_bytes());
        assert_eq!(RtMsg::parse(&m), Err(Errno::EINVAL));
    }

    #[test]
    fn families_and_lengths() {
        let with_dst = |dst: [u8; 16]| {
            let mut m = header(RTM_DELETE, 0, RTA_DST, 136);
            m.extend(dst);
            m
        };
        let mut sin = [16, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            RtMsg::parse(&with_dst(sin)).unwrap().dst,
            Some(a("10.0.0.1"))
        );
        sin[1] = 37; // AF_MAX
        assert_eq!(RtMsg::parse(&with_dst(sin)), Err(Errno::EINVAL));
        sin[1] = 24; // AF_INET6
        assert_eq!(RtMsg::parse(&with_dst(sin)), Err(Errno::EAFNOSUPPORT));
        sin[1] = 2;
        sin[0] = 9; // still one 16-byte slot, and sa_len covers sin_addr
        assert_eq!(
            RtMsg::parse(&with_dst(sin)).unwrap().dst,
            Some(a("10.0.0.1"))
        );
        sin[0] = 4; // RT_ROUNDUP(4) = 8: the slot no longer fills the message
        assert_eq!(RtMsg::parse(&with_dst(sin)), Err(Errno::EINVAL));
        let mut m = header(RTM_DELETE, 0, RTA_DST, 128);
        m.extend([4, 2, 0, 0, 10, 0, 0, 1]);
        assert_eq!(
            RtMsg::parse(&m),
            Err(Errno::EINVAL),
            "sockaddr_in shorter than 8"
        );
        // An MPLS tag.
        let mut m = header(RTM_ADD, 0, RTA_DST | RTA_TAG, 144);
        m.extend([16, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend([8, 33, 0, 0, 0, 0, 0, 0]);
        assert_eq!(RtMsg::parse(&m), Err(Errno::EOPNOTSUPP));
        // A sockaddr_dl whose name runs past its sa_len.
        let mut m = header(RTM_GET, 0, RTA_DST | RTA_IFP, 144);
        m.extend([16, 2, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend([8, 18, 1, 0, 0, 3, 0, 0]);
        assert_eq!(RtMsg::parse(&m), Err(Errno::EINVAL));
        // A non-contiguous netmask parses but has no prefix length.
        let mut msg = add_msg("10.0.0.0", "255.0.255.0");
        msg = RtMsg::parse(&msg.emit()).unwrap();
        assert_eq!(msg.netmask, Some(a("255.0.255.0")));
        assert_eq!(msg.prefixlen(), Err(Errno::EINVAL));
        msg.rtm_flags |= RTF_HOST as i32;
        assert_eq!(msg.prefixlen(), Ok(32));
    }

    #[test]
    fn garbage_never_panics() {
        let base = route_add_net16();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut m = base.clone();
            let len = 120 + (x as usize % 48);
            m.resize(len, (x >> 8) as u8);
            for k in 0..4 {
                let at = (x >> (16 + 8 * k)) as usize % len;
                m[at] = (x >> (3 * k)) as u8;
            }
            if x & 1 == 0 {
                set_msglen(&mut m, len);
                m[2] = 4;
            }
            if let Ok(p) = RtMsg::parse(&m) {
                assert!(p.dst.is_some());
                let again = RtMsg::parse(&p.emit());
                assert!(again.is_ok(), "{p:?}");
            }
        }
    }
}
