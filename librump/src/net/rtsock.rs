//! Routing sockets: the PF_ROUTE domain through which route(8) adds, deletes, changes
//! and looks up routes (NetBSD: net/rtsock.c, net/rtsock_shared.c `route_output`,
//! net/raw_usrreq.c `raw_input`).
//!
//! # The conversation
//!
//! A routing socket is a `SOCK_RAW` socket of family `PF_ROUTE`, connected from birth
//! (`route_attach` calls `soisconnected`), so `write(2)` needs no address and an address
//! is `EISCONN`. Each write is one request: an `rt_msghdr` and its sockaddrs, which
//! [`RtMsg::parse`] checks in NetBSD's order. [`RouteProto::send`] then does what
//! `route_output` does:
//!
//! - `RTM_ADD` needs a gateway (`EINVAL` without one): an `AF_INET` address that is one of
//!   ours or lies on an attached subnet, or an `AF_LINK` sockaddr naming an interface
//!   (`ENETUNREACH` when nothing reaches it). `RTA_IFP` or `RTA_IFA` may pick the interface
//!   instead. The route gets the message's flags among [`RTF_SETTABLE`] (`RTF_HOST`,
//!   `RTF_GATEWAY`, `RTF_REJECT`, `RTF_BLACKHOLE`, `RTF_STATIC`, ...) plus `RTF_UP`, and
//!   the MTU metric when `rtm_inits` has `RTV_MTU`. `EEXIST` when the prefix has a route.
//!   No netmask means a host route, as in NetBSD.
//! - `RTM_DELETE` removes the route to exactly that prefix (`ESRCH` when absent).
//! - `RTM_GET` finds the route: longest prefix covering the destination without a
//!   netmask (`route get ADDR`), exactly that prefix with one. `ESRCH` when none.
//! - `RTM_CHANGE` finds the route as `RTM_GET` does, but the key must equal the
//!   destination (`ESRCH`) and a destination without netmask must name a host route
//!   (`ETOOMANYREFS`), then replaces the gateway (and the interface reaching it), the
//!   flags among [`RTF_SETTABLE`] and the MTU metric.
//! - Any other type is `EOPNOTSUPP`; that includes `RTM_LOCK`, whose metric locks this
//!   table does not keep.
//!
//! # The reply
//!
//! The answer is a message appended to the receive buffer of every routing socket of
//! the kernel, the sender's included unless it turned `SO_USELOOPBACK` off (on by
//! default: `route_attach` sets it); route(8) reads it back and matches `rtm_pid` and
//! `rtm_seq`. On success it carries `RTF_DONE`; on failure `rtm_errno`, and the write
//! fails with that errno too. `RTM_GET` and `RTM_DELETE` answer with the route found
//! (destination, gateway, netmask unless a host route, flags, use count, MTU, and the
//! interface and its address when the request named `RTA_IFP` or `RTA_IFA`); every
//! other reply is the request itself, as sent, with `rtm_pid` and `RTF_DONE` or
//! `rtm_errno` filled in. A message too short for its header or whose `rtm_msglen` is
//! wrong is echoed untouched; one shorter than an int is `ENOBUFS` and echoed to no one
//! (the `m_pullup` of the length fails). A socket opened with a protocol (`socket(PF_ROUTE,
//! SOCK_RAW, AF_INET)`) hears only replies about that family; a message that did not
//! parse has none and reaches only sockets of protocol 0. A listener whose buffer is
//! full loses the reply (its `sb_overflowed` counts it); the sender is not told.
//!
//! # Where the sockets are kept
//!
//! Each kernel registers its own [`RouteProto`] in `inet_attach` ([`rts_attach`]), and
//! the list of its routing sockets lives there, behind a `parking_lot` mutex: every
//! request reaches it through `&self` without a field in `KernelState`. Lock order: the
//! kernel lock, then this mutex, which is a leaf: the list is copied out before replies
//! are delivered.
//!
//! # Deviations
//!
//! No credentials: every caller may change routes (NetBSD lets non-root callers only
//! `RTM_GET`). The kernel does not announce its own changes (`RTM_NEWADDR`,
//! `RTM_IFINFO`, routes of new addresses) and `RO_MSGFILTER` is not supported
//! (`ENOPROTOOPT`). `rtm_pid` is the host process's pid: the virtual kernel serves the
//! one process it runs in, so a program compares it with `getpid()` as route(8) does.
//! Replies come from no address (`recvfrom` reports a zero length; NetBSD gives a
//! 2-byte `PF_ROUTE` sockaddr), and `getsockname`/`getpeername` are `EOPNOTSUPP`.

use std::mem::{offset_of, size_of};
use std::net::Ipv4Addr;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::abi::netbsd::{self as nb, rump_rt_metrics, rump_rt_msghdr};
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::sockaddr::SockAddr;
use crate::kern::uipc_domain::{Detach, Domain, Protosw, Sockopt, SoptDir, PR_ADDR, PR_ATOMIC};
use crate::kern::uipc_socket::{SocketId, SS_CANTRCVMORE};
use crate::net::route::{Rtentry, RTF_BLACKHOLE, RTF_DONE, RTF_DYNAMIC, RTF_GATEWAY, RTF_HOST};
use crate::net::route::{RTF_MODIFIED, RTF_PROTO1, RTF_PROTO2, RTF_REJECT, RTF_STATIC};
use crate::net::rtsock_msg::{RtMsg, RTA_IFA, RTA_IFP, RTM_ADD, RTM_CHANGE, RTM_DELETE};
use crate::net::rtsock_msg::{RTM_GET, RTM_VERSION, RT_MSGHDR_LEN};

/// Send buffer of a routing socket (NetBSD's route_sendspace).
pub const ROUTE_SENDSPACE: usize = 8192;
/// Receive buffer of a routing socket: room for replies to pile up while a program
/// writes several requests before reading.
pub const ROUTE_RECVSPACE: usize = 8192 * 4;

/// The `RTF_*` flags a request may set on a route; `RTF_UP` is always set, and the
/// kernel's own (`RTF_DONE`, `RTF_CONNECTED`, `RTF_LOCAL`, `RTF_BROADCAST`, ...) are
/// ignored.
pub const RTF_SETTABLE: u32 = RTF_GATEWAY
    | RTF_HOST
    | RTF_REJECT
    | RTF_DYNAMIC
    | RTF_MODIFIED
    | RTF_STATIC
    | RTF_BLACKHOLE
    | RTF_PROTO1
    | RTF_PROTO2;

/// `RTV_MTU`: `rtm_inits` bit of the MTU metric.
const RTV_MTU: i32 = nb::RUMP_RTV_MTU;

/// Byte offsets in a raw message, for answering with the request itself.
mod hdr {
    use super::*;

    pub const MSGLEN: usize = offset_of!(rump_rt_msghdr, rtm_msglen);
    pub const VERSION: usize = offset_of!(rump_rt_msghdr, rtm_version);
    pub const FLAGS: usize = offset_of!(rump_rt_msghdr, rtm_flags);
    pub const ADDRS: usize = offset_of!(rump_rt_msghdr, rtm_addrs);
    pub const PID: usize = offset_of!(rump_rt_msghdr, rtm_pid);
    pub const ERRNO: usize = offset_of!(rump_rt_msghdr, rtm_errno);
}

/// Routing socket counters (NetBSD keeps these in `rtstat` and the socket buffers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtsockStat {
    /// Requests written to routing sockets.
    pub rts_output: u64,
    /// Requests that failed (their reply carries `rtm_errno`).
    pub rts_failed: u64,
    /// Replies appended to a listener's receive buffer.
    pub rts_delivered: u64,
    /// Replies a listener lost because its receive buffer was full.
    pub rts_fullsock: u64,
    /// Replies a listener lost because no mbuf was left.
    pub rts_nobufs: u64,
}

struct RtsockState {
    /// Every routing socket of the kernel, in creation order (`rawcb` list).
    rawcb: Vec<SocketId>,
    stat: RtsockStat,
}

/// The protocol switch entry of `PF_ROUTE`: one `SOCK_RAW` protocol, `PR_ATOMIC |
/// PR_ADDR`, holding the kernel's routing sockets (see the module documentation).
pub struct RouteProto {
    state: Mutex<RtsockState>,
    /// `rtm_pid` of replies.
    pid: i32,
}

impl Default for RouteProto {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteProto {
    /// A protocol entry with no sockets.
    pub fn new() -> Self {
        RouteProto {
            state: Mutex::new(RtsockState {
                rawcb: Vec::new(),
                stat: RtsockStat::default(),
            }),
            pid: i32::try_from(std::process::id()).unwrap_or(i32::MAX),
        }
    }

    /// The counters.
    pub fn stats(&self) -> RtsockStat {
        self.state.lock().stat
    }

    /// Answer a request written to routing socket `so` (NetBSD: `route_output`): do
    /// it, echo the reply to the listeners, and return the request's error.
    fn route_output(&self, k: &mut KernelState, so: SocketId, mut buf: Vec<u8>) -> KResult<()> {
        self.state.lock().stat.rts_output += 1;
        if buf.len() < size_of::<i32>() {
            return Err(Errno::ENOBUFS);
        }
        // Whether NetBSD would have a copy of the header to write the outcome into.
        let has_hdr =
            buf.len() >= RT_MSGHDR_LEN && usize::from(ne_u16(&buf, hdr::MSGLEN)) == buf.len();
        let version_ok = has_hdr && buf[hdr::VERSION] == RTM_VERSION;
        let (result, reply, family) = match RtMsg::parse(&buf) {
            Ok(msg) => {
                let addrs = ne_i32(&buf, hdr::ADDRS);
                match rtrequest(k, &msg, addrs) {
                    Ok(Some(mut report)) => {
                        report.rtm_pid = self.pid;
                        report.rtm_flags |= RTF_DONE as i32;
                        (Ok(()), report.emit(), nb::RUMP_AF_INET)
                    }
                    Ok(None) => {
                        put_i32(&mut buf, hdr::PID, self.pid);
                        let flags = ne_i32(&buf, hdr::FLAGS) | RTF_DONE as i32;
                        put_i32(&mut buf, hdr::FLAGS, flags);
                        (Ok(()), buf, nb::RUMP_AF_INET)
                    }
                    Err(e) => {
                        put_i32(&mut buf, hdr::PID, self.pid);
                        put_i32(&mut buf, hdr::ERRNO, e.0);
                        (Err(e), buf, nb::RUMP_AF_INET)
                    }
                }
            }
            Err(e) => {
                if version_ok {
                    put_i32(&mut buf, hdr::PID, self.pid);
                }
                if has_hdr {
                    put_i32(&mut buf, hdr::ERRNO, e.0);
                }
                (Err(e), buf, 0)
            }
        };
        if result.is_err() {
            self.state.lock().stat.rts_failed += 1;
        }
        self.route_input(k, &reply, family, so);
        result
    }

    /// Append a reply to every routing socket that listens (NetBSD: `raw_input` from
    /// `route_output`): all of them but the sender when it turned `SO_USELOOPBACK`
    /// off, and only those of protocol 0 or of the message's `family`.
    fn route_input(&self, k: &mut KernelState, msg: &[u8], family: i32, sender: SocketId) {
        let targets = self.state.lock().rawcb.clone();
        let pool = k.pool.clone();
        let (mut delivered, mut full, mut nobufs) = (0, 0, 0);
        for so in targets {
            let Some(s) = k.sockets.get(so) else {
                continue;
            };
            if so == sender && s.so_options & nb::RUMP_SO_USELOOPBACK == 0 {
                continue;
            }
            if s.so_protocol != 0 && s.so_protocol != family {
                continue;
            }
            if s.so_state & SS_CANTRCVMORE != 0 {
                continue;
            }
            let Ok(m) = MbufChain::from_slice(&pool, msg, 0) else {
                nobufs += 1;
                continue;
            };
            if k.so_mut(so).so_rcv.append_addr(None, m) {
                k.sorwakeup(so);
                delivered += 1;
            } else {
                full += 1;
            }
        }
        let mut st = self.state.lock();
        st.stat.rts_delivered += delivered;
        st.stat.rts_fullsock += full;
        st.stat.rts_nobufs += nobufs;
    }
}

fn ne_u16(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_ne_bytes)
}

fn ne_i32(b: &[u8], off: usize) -> i32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

fn put_i32(b: &mut [u8], off: usize, v: i32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_ne_bytes());
    }
}

/// Do a parsed request (the switch of NetBSD's `route_output`). Returns the route to
/// report for `RTM_GET` and `RTM_DELETE`, None when the request itself is the reply.
fn rtrequest(k: &mut KernelState, msg: &RtMsg, addrs: i32) -> KResult<Option<RtMsg>> {
    let dst = msg.dst.ok_or(Errno::EINVAL)?;
    if k.inet().is_none() {
        return Err(Errno::EAFNOSUPPORT);
    }
    match msg.rtm_type {
        RTM_ADD => {
            rt_add(k, msg, dst)?;
            Ok(None)
        }
        RTM_DELETE => {
            let plen = msg.prefixlen()?;
            let inet = k.inet_mut().ok_or(Errno::EAFNOSUPPORT)?;
            let rt = inet.rt.delete(dst, plen, None)?;
            Ok(Some(report(k, msg, &rt, addrs)))
        }
        RTM_GET => {
            let rt = rt_lookup(k, msg, dst)?;
            Ok(Some(report(k, msg, &rt, addrs)))
        }
        RTM_CHANGE => {
            rt_change(k, msg, dst)?;
            Ok(None)
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// The route a request names: with a netmask, exactly that prefix; without one, the
/// longest prefix covering the destination (NetBSD: `rtrequest1(RTM_GET)`).
///
/// # Errors
/// `ESRCH` when there is none, `EINVAL` for a netmask that is not contiguous.
fn rt_lookup(k: &KernelState, msg: &RtMsg, dst: Ipv4Addr) -> KResult<Rtentry> {
    let inet = k.inet().ok_or(Errno::EAFNOSUPPORT)?;
    let rt = if msg.netmask.is_some() {
        inet.rt.get(dst, msg.prefixlen()?)
    } else {
        inet.rt.lookup_nocount(dst)
    };
    rt.cloned().ok_or(Errno::ESRCH)
}

/// `RTM_ADD` (NetBSD: the `RTM_ADD` case of `route_output` and `rtrequest1`).
fn rt_add(k: &mut KernelState, msg: &RtMsg, dst: Ipv4Addr) -> KResult<()> {
    if msg.gateway.is_none() && msg.gateway_link.is_none() {
        return Err(Errno::EINVAL);
    }
    let plen = msg.prefixlen()?;
    let flags = msg.rtm_flags as u32 & RTF_SETTABLE;
    let ifindex = rt_getifa(k, msg, flags)?;
    let mut rt = Rtentry::new(dst, plen, msg.gateway, ifindex, flags);
    if msg.rtm_inits & RTV_MTU != 0 {
        rt.rt_mtu = u32::try_from(msg.rtm_rmx.rmx_mtu).unwrap_or(u32::MAX);
    }
    k.inet_mut().ok_or(Errno::EAFNOSUPPORT)?.rt.add(rt)
}

/// `RTM_CHANGE` (NetBSD: `rt_update`).
fn rt_change(k: &mut KernelState, msg: &RtMsg, dst: Ipv4Addr) -> KResult<()> {
    let old = rt_lookup(k, msg, dst)?;
    if old.rt_dst != dst {
        return Err(Errno::ESRCH);
    }
    if msg.netmask.is_none() && old.rt_flags & RTF_HOST == 0 {
        // A network route must be named with its netmask.
        return Err(Errno::ETOOMANYREFS);
    }
    // The message's flags; the prefix stays what it is, and so does its host bit.
    let keep = !RTF_SETTABLE | RTF_HOST;
    let flags = (msg.rtm_flags as u32 & RTF_SETTABLE & !RTF_HOST) | (old.rt_flags & keep);
    let moves = msg.gateway.is_some()
        || msg.gateway_link.is_some()
        || msg.ifp_index.is_some()
        || msg.ifa.is_some();
    let (gateway, ifindex) = if moves {
        let gateway = match (msg.gateway, msg.gateway_link) {
            (Some(g), _) => Some(g),
            (None, Some(_)) => None,
            (None, None) => old.rt_gateway,
        };
        let mut lookup = msg.clone();
        lookup.gateway = gateway;
        if gateway.is_none() && lookup.gateway_link.is_none() {
            lookup.gateway_link = u16::try_from(old.rt_ifindex).ok();
        }
        (gateway, rt_getifa(k, &lookup, flags)?)
    } else {
        (old.rt_gateway, old.rt_ifindex)
    };
    if flags & RTF_GATEWAY != 0 && gateway.is_none() {
        return Err(Errno::EINVAL);
    }
    let mtu = (msg.rtm_inits & RTV_MTU != 0)
        .then(|| u32::try_from(msg.rtm_rmx.rmx_mtu).unwrap_or(u32::MAX));
    let inet = k.inet_mut().ok_or(Errno::EAFNOSUPPORT)?;
    inet.rt.modify(old.rt_dst, old.rt_prefixlen, |rt| {
        rt.rt_gateway = gateway;
        rt.rt_ifindex = ifindex;
        rt.rt_flags = flags | crate::net::route::RTF_UP;
        if let Some(m) = mtu {
            rt.rt_mtu = m;
        }
    })
}

/// The interface a new or changed route goes out of (NetBSD: `rt_getifa` and
/// `ifa_ifwithroute`): the one `RTA_IFP` names (by index, or by name with index 0),
/// else the one holding the `RTA_IFA` address, else the one the gateway names: an
/// `AF_LINK` gateway by its index, an `AF_INET` one by being our address or on an
/// attached subnet.
///
/// # Errors
/// `ENETUNREACH` when no interface fits.
fn rt_getifa(k: &KernelState, msg: &RtMsg, flags: u32) -> KResult<usize> {
    match (msg.ifp_index, msg.ifp_name.as_deref()) {
        (Some(i), _) if i != 0 && k.ifp(usize::from(i)).is_some() => return Ok(usize::from(i)),
        (Some(0), Some(name)) => {
            if let Some(i) = k.ifunit(name) {
                return Ok(i);
            }
        }
        _ => {}
    }
    let inet = k.inet().ok_or(Errno::ENETUNREACH)?;
    if let Some(a) = msg.ifa {
        if let Some(ia) = inet.in_ifaddrs.iter().find(|ia| ia.ia_addr == a) {
            return Ok(ia.ia_ifindex);
        }
    }
    if let Some(i) = msg.gateway_link {
        let i = usize::from(i);
        return k.ifp(i).map(|_| i).ok_or(Errno::ENETUNREACH);
    }
    let gw = msg.gateway.ok_or(Errno::ENETUNREACH)?;
    // An interface route names one of our addresses; a gateway route a neighbour.
    let own = (flags & RTF_GATEWAY == 0)
        .then(|| inet.in_ifaddrs.iter().find(|ia| ia.ia_addr == gw))
        .flatten();
    own.or_else(|| inet.in_ifaddrs.iter().find(|ia| ia.contains(gw)))
        .map(|ia| ia.ia_ifindex)
        .ok_or(Errno::ENETUNREACH)
}

/// The reply of `RTM_GET` and `RTM_DELETE`: the route as `rt_msg2` reports it.
fn report(k: &KernelState, req: &RtMsg, rt: &Rtentry, addrs: i32) -> RtMsg {
    let mut r = RtMsg {
        rtm_type: req.rtm_type,
        rtm_flags: rt.rt_flags as i32,
        rtm_index: req.rtm_index,
        rtm_seq: req.rtm_seq,
        rtm_use: i32::try_from(rt.rt_use).unwrap_or(i32::MAX),
        rtm_inits: req.rtm_inits,
        rtm_rmx: rump_rt_metrics {
            rmx_mtu: u64::from(rt.rt_mtu),
            ..rump_rt_metrics::default()
        },
        dst: Some(rt.rt_dst),
        ..RtMsg::default()
    };
    // A route without a gateway (a connected one) reports its interface, as
    // netstat's "link#N".
    match rt.rt_gateway {
        Some(g) => r.gateway = Some(g),
        None => r.gateway_link = u16::try_from(rt.rt_ifindex).ok(),
    }
    if rt.rt_flags & RTF_HOST == 0 {
        r.netmask = Some(rt.netmask());
    }
    if addrs & (RTA_IFP | RTA_IFA) != 0 {
        if let (Some(ifp), Ok(index)) = (k.ifp(rt.rt_ifindex), u16::try_from(rt.rt_ifindex)) {
            r.rtm_index = index;
            r.ifp_index = Some(index);
            r.ifp_name = Some(ifp.if_xname.clone());
            let ias = k.in_addrs_of(rt.rt_ifindex);
            let near = rt.rt_gateway.unwrap_or(rt.rt_dst);
            r.ifa = ias
                .iter()
                .find(|ia| ia.contains(near))
                .or(ias.first())
                .map(|ia| ia.ia_addr);
        }
    }
    r
}

impl Protosw for RouteProto {
    fn pr_name(&self) -> &'static str {
        "route"
    }

    fn pr_type(&self) -> i32 {
        nb::RUMP_SOCK_RAW
    }

    fn pr_protocol(&self) -> i32 {
        0
    }

    fn pr_flags(&self) -> u32 {
        PR_ATOMIC | PR_ADDR
    }

    /// `proto` is the address family whose messages the socket wants, 0 for all.
    fn attach(&self, k: &mut KernelState, so: SocketId, proto: i32) -> KResult<()> {
        let s = k.so_mut(so);
        s.soreserve(ROUTE_SENDSPACE, ROUTE_RECVSPACE)?;
        s.so_protocol = proto;
        s.so_options |= nb::RUMP_SO_USELOOPBACK;
        k.soisconnected(so);
        self.state.lock().rawcb.push(so);
        Ok(())
    }

    fn detach(&self, _k: &mut KernelState, so: SocketId) -> Detach {
        self.state.lock().rawcb.retain(|s| *s != so);
        Detach::Done
    }

    fn bind(&self, _k: &mut KernelState, _so: SocketId, _nam: &SockAddr) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn connect(&self, _k: &mut KernelState, _so: SocketId, _nam: &SockAddr) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn disconnect(&self, _k: &mut KernelState, _so: SocketId) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn sockaddr(&self, _k: &mut KernelState, _so: SocketId) -> KResult<SockAddr> {
        Err(Errno::EOPNOTSUPP)
    }

    fn peeraddr(&self, _k: &mut KernelState, _so: SocketId) -> KResult<SockAddr> {
        Err(Errno::EOPNOTSUPP)
    }

    /// One routing request per message; an address is `EISCONN` (raw_send: the socket
    /// is connected).
    fn send(
        &self,
        k: &mut KernelState,
        so: SocketId,
        m: MbufChain,
        nam: Option<&SockAddr>,
    ) -> KResult<()> {
        if nam.is_some() {
            return Err(Errno::EISCONN);
        }
        self.route_output(k, so, m.to_vec())
    }

    fn ctloutput(
        &self,
        _k: &mut KernelState,
        _so: SocketId,
        _dir: SoptDir,
        _opt: &mut Sockopt,
    ) -> KResult<()> {
        Err(Errno::ENOPROTOOPT)
    }
}

/// Register the `PF_ROUTE` domain of a kernel that runs its own inet stack (NetBSD:
/// `route_init` and the `routedomain` entry); returns its protocol entry, whose
/// counters tests read.
pub fn rts_attach(k: &mut KernelState) -> Arc<RouteProto> {
    let pr = Arc::new(RouteProto::new());
    k.domains.push(Arc::new(Domain {
        dom_family: nb::RUMP_AF_ROUTE,
        dom_name: "route",
        dom_protosw: vec![pr.clone()],
    }));
    pr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IfOptions;
    use crate::drivers::memlink::{memlink_attach, MemLink};
    use crate::kern::kernel::BootOptions;
    use crate::kern::Kernel;
    use crate::net::route::RTF_UP;
    use crate::net::rtsock_msg::RTA_DST;
    use crate::rumpuser::TestHypervisor;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A kernel with mem0 at 10.0.2.15/24.
    fn boot() -> Kernel {
        let k = Kernel::boot(BootOptions {
            hypervisor: TestHypervisor::new(7),
            ..Default::default()
        })
        .unwrap();
        let link = MemLink::new();
        let i = memlink_attach(&k, &link, &IfOptions::default()).unwrap();
        k.lock().in_addr_add(i, a("10.0.2.15"), 24, None).unwrap();
        k
    }

    fn route_socket(k: &Kernel, proto: i32) -> i32 {
        let s = k
            .socket(nb::RUMP_PF_ROUTE, nb::RUMP_SOCK_RAW, proto)
            .unwrap();
        k.fcntl(s, nb::RUMP_F_SETFL, i64::from(nb::RUMP_O_NONBLOCK))
            .unwrap();
        s
    }

    fn add(dst: &str, mask: Option<&str>, gw: &str, flags: u32) -> RtMsg {
        RtMsg {
            rtm_type: RTM_ADD,
            rtm_flags: (RTF_UP | RTF_STATIC | flags) as i32,
            rtm_seq: 1,
            dst: Some(a(dst)),
            gateway: Some(a(gw)),
            netmask: mask.map(a),
            ..RtMsg::default()
        }
    }

    fn get(dst: &str) -> RtMsg {
        RtMsg {
            rtm_type: RTM_GET,
            rtm_seq: 9,
            dst: Some(a(dst)),
            ifp_index: Some(0),
            ..RtMsg::default()
        }
    }

    fn reply(k: &Kernel, s: i32) -> RtMsg {
        let mut b = [0u8; 512];
        let n = k.read(s, &mut b).unwrap();
        RtMsg::parse(&b[..n]).unwrap()
    }

    fn no_reply(k: &Kernel, s: i32) {
        let mut b = [0u8; 512];
        assert_eq!(k.read(s, &mut b).err(), Some(Errno::EWOULDBLOCK));
    }

    #[test]
    fn add_default_then_get_a_remote_address() {
        let k = boot();
        let s = route_socket(&k, 0);
        let req = add("0.0.0.0", Some("0.0.0.0"), "10.0.2.2", RTF_GATEWAY).emit();
        assert_eq!(k.write(s, &req), Ok(req.len()));
        let r = reply(&k, s);
        assert_eq!(r.rtm_errno, 0);
        assert_eq!(r.rtm_flags as u32 & RTF_DONE, RTF_DONE);
        assert_eq!(r.rtm_pid, std::process::id() as i32);
        assert_eq!(r.gateway, Some(a("10.0.2.2")));
        let rt = k
            .lock()
            .inet()
            .unwrap()
            .rt
            .get(a("0.0.0.0"), 0)
            .cloned()
            .unwrap();
        assert_eq!(rt.rt_flags, RTF_UP | RTF_GATEWAY | RTF_STATIC);
        assert_eq!(rt.rt_ifindex, k.lock().ifunit("mem0").unwrap());

        let req = get("192.0.2.7").emit();
        assert_eq!(k.write(s, &req), Ok(req.len()));
        let r = reply(&k, s);
        assert_eq!((r.rtm_type, r.rtm_seq, r.rtm_errno), (RTM_GET, 9, 0));
        assert_eq!(r.dst, Some(a("0.0.0.0")));
        assert_eq!(r.gateway, Some(a("10.0.2.2")));
        assert_eq!(r.netmask, Some(a("0.0.0.0")));
        assert_eq!(r.ifp_name.as_deref(), Some("mem0"));
        assert_eq!(r.ifa, Some(a("10.0.2.15")));
        assert_eq!(
            r.rtm_flags as u32,
            RTF_UP | RTF_GATEWAY | RTF_STATIC | RTF_DONE
        );

        // The attached subnet answers with its interface.
        let req = RtMsg {
            ifp_index: None,
            ..get("10.0.2.99")
        };
        k.write(s, &req.emit()).unwrap();
        let r = reply(&k, s);
        assert_eq!(r.dst, Some(a("10.0.2.0")));
        assert_eq!(r.gateway, None);
        assert_eq!(
            r.gateway_link,
            u16::try_from(k.lock().ifunit("mem0").unwrap()).ok()
        );
        assert_eq!(r.netmask, Some(a("255.255.255.0")));
        assert_eq!(r.rtm_addrs() & RTA_IFP, 0);
    }

    #[test]
    fn errors_fail_the_write_and_reach_the_reply() {
        let k = boot();
        let s = route_socket(&k, 0);
        let add_net = add("10.1.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY).emit();
        k.write(s, &add_net).unwrap();
        reply(&k, s);
        assert_eq!(k.write(s, &add_net), Err(Errno::EEXIST));
        let r = reply(&k, s);
        assert_eq!(r.rtm_errno, Errno::EEXIST.0);
        assert_eq!(r.rtm_flags as u32 & RTF_DONE, 0);

        let far = add("10.3.0.0", Some("255.255.0.0"), "172.16.0.1", RTF_GATEWAY).emit();
        assert_eq!(k.write(s, &far), Err(Errno::ENETUNREACH));
        reply(&k, s);
        let no_gw = RtMsg {
            gateway: None,
            ..add("10.4.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY)
        };
        assert_eq!(k.write(s, &no_gw.emit()), Err(Errno::EINVAL));
        reply(&k, s);
        let holes = add("10.5.0.0", Some("255.0.255.0"), "10.0.2.2", RTF_GATEWAY).emit();
        assert_eq!(k.write(s, &holes), Err(Errno::EINVAL));
        reply(&k, s);

        let del = RtMsg {
            rtm_type: RTM_DELETE,
            ..add("10.9.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY)
        };
        assert_eq!(k.write(s, &del.emit()), Err(Errno::ESRCH));
        assert_eq!(reply(&k, s).rtm_errno, Errno::ESRCH.0);
        let other = RtMsg {
            rtm_type: 0x7f,
            ..del.clone()
        };
        assert_eq!(k.write(s, &other.emit()), Err(Errno::EOPNOTSUPP));
        reply(&k, s);

        // A truncated message is echoed untouched; version 3 gets its errno.
        let mut short = add_net[..100].to_vec();
        short[0..2].copy_from_slice(&100u16.to_ne_bytes());
        assert_eq!(k.write(s, &short), Err(Errno::EINVAL));
        let mut b = [0u8; 512];
        assert_eq!(k.read(s, &mut b), Ok(100));
        assert_eq!(&b[..100], &short[..]);
        let mut v3 = add_net.clone();
        v3[hdr::VERSION] = 3;
        assert_eq!(k.write(s, &v3), Err(Errno::EPROTONOSUPPORT));
        let n = k.read(s, &mut b).unwrap();
        assert_eq!(ne_i32(&b[..n], hdr::ERRNO), Errno::EPROTONOSUPPORT.0);
        assert_eq!(k.write(s, &[1, 2]), Err(Errno::ENOBUFS));
        no_reply(&k, s);

        // Delete the route that exists; the reply describes it.
        let del = RtMsg {
            rtm_type: RTM_DELETE,
            ..add("10.1.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY)
        };
        k.write(s, &del.emit()).unwrap();
        let r = reply(&k, s);
        assert_eq!(
            (r.dst, r.gateway),
            (Some(a("10.1.0.0")), Some(a("10.0.2.2")))
        );
        assert!(k.lock().inet().unwrap().rt.get(a("10.1.0.0"), 16).is_none());
        let req = RtMsg {
            ifp_index: None,
            ..get("10.1.2.3")
        };
        assert_eq!(k.write(s, &req.emit()), Err(Errno::ESRCH));
        assert_eq!(reply(&k, s).rtm_errno, Errno::ESRCH.0);
        no_reply(&k, s);
    }

    #[test]
    fn replies_reach_every_listener_that_wants_them() {
        let k = boot();
        let (s, all, inet) = (
            route_socket(&k, 0),
            route_socket(&k, 0),
            route_socket(&k, 2),
        );
        let other = route_socket(&k, nb::RUMP_AF_INET6);
        let req = add("10.1.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY).emit();
        k.write(s, &req).unwrap();
        for fd in [s, all, inet] {
            assert_eq!(reply(&k, fd).dst, Some(a("10.1.0.0")));
        }
        no_reply(&k, other);
        // Without SO_USELOOPBACK the sender hears nothing; a message that does not
        // parse reaches only the sockets of protocol 0.
        k.setsockopt(
            s,
            nb::RUMP_SOL_SOCKET,
            nb::RUMP_SO_USELOOPBACK,
            &0i32.to_ne_bytes(),
        )
        .unwrap();
        assert_eq!(k.write(s, &req[..130]), Err(Errno::EINVAL));
        no_reply(&k, s);
        let mut b = [0u8; 512];
        assert_eq!(k.read(all, &mut b), Ok(130));
        no_reply(&k, inet);
        // An address is EISCONN; bind and connect are not for routing sockets.
        let to = SockAddr::any(nb::RUMP_AF_INET).unwrap();
        assert_eq!(k.sendmsg(s, &[&req], Some(&to), 0), Err(Errno::EISCONN));
        assert_eq!(k.bind(s, &to), Err(Errno::EOPNOTSUPP));
        assert_eq!(k.getsockname(s).err(), Some(Errno::EOPNOTSUPP));
        k.close(all).unwrap();
        k.write(
            s,
            &add("10.2.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY).emit(),
        )
        .unwrap();
        assert_eq!(reply(&k, inet).dst, Some(a("10.2.0.0")));
    }

    #[test]
    fn host_reject_blackhole_and_interface_routes() {
        let k = boot();
        let s = route_socket(&k, 0);
        let mem0 = k.lock().ifunit("mem0").unwrap();
        // No netmask: a host route.
        let host = add(
            "192.0.2.1",
            None,
            "10.0.2.2",
            RTF_GATEWAY | RTF_HOST | RTF_REJECT,
        );
        k.write(s, &host.emit()).unwrap();
        reply(&k, s);
        let bh = add(
            "198.51.100.0",
            Some("255.255.255.0"),
            "10.0.2.2",
            RTF_GATEWAY | RTF_BLACKHOLE,
        );
        k.write(s, &bh.emit()).unwrap();
        reply(&k, s);
        // An interface route: the gateway is the interface, by index.
        let ifr = RtMsg {
            gateway: None,
            gateway_link: u16::try_from(mem0).ok(),
            ..add("203.0.113.0", Some("255.255.255.0"), "0.0.0.0", 0)
        };
        k.write(s, &ifr.emit()).unwrap();
        reply(&k, s);
        // ... or one of our addresses without RTF_GATEWAY.
        let own = add("203.0.114.0", Some("255.255.255.0"), "10.0.2.15", 0);
        k.write(s, &own.emit()).unwrap();
        reply(&k, s);
        let g = k.lock();
        let rt = &g.inet().unwrap().rt;
        let h = rt.get(a("192.0.2.1"), 32).unwrap();
        assert_eq!(
            h.rt_flags,
            RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_REJECT | RTF_STATIC
        );
        let b = rt.get(a("198.51.100.0"), 24).unwrap();
        assert_eq!(b.rt_flags & RTF_BLACKHOLE, RTF_BLACKHOLE);
        let i = rt.get(a("203.0.113.0"), 24).unwrap();
        assert_eq!(
            (i.rt_gateway, i.rt_ifindex, i.rt_flags & RTF_GATEWAY),
            (None, mem0, 0)
        );
        let o = rt.get(a("203.0.114.0"), 24).unwrap();
        assert_eq!(o.next_hop(a("203.0.114.9")), a("203.0.114.9"));
        drop(g);
        // The host route reports no netmask; an unknown interface is ENETUNREACH.
        k.write(
            s,
            &RtMsg {
                ifp_index: None,
                ..get("192.0.2.1")
            }
            .emit(),
        )
        .unwrap();
        let r = reply(&k, s);
        assert_eq!((r.netmask, r.rtm_addrs() & RTA_DST), (None, RTA_DST));
        let bad = RtMsg {
            gateway_link: Some(77),
            ..ifr
        };
        assert_eq!(k.write(s, &bad.emit()), Err(Errno::ENETUNREACH));
    }

    #[test]
    fn change_moves_the_gateway_and_keeps_the_prefix() {
        let k = boot();
        let s = route_socket(&k, 0);
        k.write(
            s,
            &add("10.1.0.0", Some("255.255.0.0"), "10.0.2.2", RTF_GATEWAY).emit(),
        )
        .unwrap();
        reply(&k, s);
        let mut ch = add("10.1.0.0", Some("255.255.0.0"), "10.0.2.3", RTF_GATEWAY);
        ch.rtm_type = RTM_CHANGE;
        ch.rtm_inits = RTV_MTU;
        ch.rtm_rmx.rmx_mtu = 1280;
        k.write(s, &ch.emit()).unwrap();
        assert_eq!(reply(&k, s).rtm_flags as u32 & RTF_DONE, RTF_DONE);
        let rt = k
            .lock()
            .inet()
            .unwrap()
            .rt
            .get(a("10.1.0.0"), 16)
            .cloned()
            .unwrap();
        assert_eq!((rt.rt_gateway, rt.rt_mtu), (Some(a("10.0.2.3")), 1280));
        // Without its netmask a network route is ETOOMANYREFS; a missing one ESRCH;
        // an unreachable gateway ENETUNREACH.
        let nomask = RtMsg {
            netmask: None,
            ..ch.clone()
        };
        assert_eq!(k.write(s, &nomask.emit()), Err(Errno::ETOOMANYREFS));
        let missing = RtMsg {
            dst: Some(a("10.7.0.0")),
            ..ch.clone()
        };
        assert_eq!(k.write(s, &missing.emit()), Err(Errno::ESRCH));
        let far = RtMsg {
            gateway: Some(a("172.16.0.1")),
            ..ch.clone()
        };
        assert_eq!(k.write(s, &far.emit()), Err(Errno::ENETUNREACH));
    }
}
