//! The inet domain and its protocol switch (NetBSD: netinet/in_proto.c), and booting
//! the kernel's own IPv4 stack.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::raw_ip::RawIpProto;
use super::tcp_usrreq::TcpProto;
use super::udp_usrreq::UdpProto;
use super::{if_inarp, ip_reass, InetState};
use crate::abi::netbsd as nb;
use crate::kern::errno::KResult;
use crate::kern::uipc_domain::{Domain, Protosw};
use crate::kern::Kernel;
use crate::net::if_loop::LoopDriver;
use crate::net::ifnet::{flags, IfType};
use crate::net::route::RouteTable;

/// Loopback MTU (NetBSD's LOMTU).
pub const LOMTU: u32 = 33624;

/// Boot the kernel's own inet stack: the PF_INET domain, `lo0` with 127.0.0.1/8.
///
/// # Errors
/// From interface creation.
pub fn inet_attach(k: &Kernel) -> KResult<()> {
    let mut g = k.lock();
    g.inet = Some(Box::new(InetState {
        in_ifaddrs: Vec::new(),
        rt: RouteTable::new(),
        arp: if_inarp::ArpTable::default(),
        reass: ip_reass::IpReass::default(),
        udbtable: super::in_pcb::InpcbTable::new(),
        rawcb: Vec::new(),
        ipstat: Default::default(),
        icmpstat: Default::default(),
        udpstat: Default::default(),
        arpstat: Default::default(),
        tcp: Default::default(),
        ip_id: g.random16(),
        icmp_tokens: (super::ip_icmp::ICMP_ERRPPSLIMIT, 0),
    }));
    let ids = super::tcp_sysctl::tcp_sysctl_setup(&mut g.sysctl)?;
    if let Some(t) = super::tcp_var::tcp_globals(&mut g) {
        t.sysctl = Some(ids);
    }
    let sw: Vec<Arc<dyn Protosw>> =
        vec![Arc::new(TcpProto), Arc::new(UdpProto), Arc::new(RawIpProto)];
    g.domains.push(Arc::new(Domain {
        dom_family: nb::RUMP_AF_INET,
        dom_name: "inet",
        dom_protosw: sw,
    }));
    let lo = g.if_attach(
        "lo0",
        IfType::Loop,
        LOMTU,
        [0; 6],
        flags::IFF_LOOPBACK | flags::IFF_MULTICAST,
        Box::new(LoopDriver),
    )?;
    g.in_addr_add(lo, Ipv4Addr::LOCALHOST, 8, None)?;
    crate::net::rtsock::rts_attach(&mut g);
    Ok(())
}
