//! The kernel's own IPv4 stack (NetBSD: sys/netinet): ARP, IP with fragmentation,
//! reassembly and forwarding, ICMP, UDP, TCP and raw IP sockets.
//!
//! Packets flow as in BSD: driver → netisr → `ether_input` → `ip_input` → `udp_input`
//! / `icmp_input` / `rip_input` → socket buffer → wakeup; and back from the socket
//! through `udp_output`/`rip_output` → `ip_output` (route lookup, fragmentation) →
//! `arpresolve` → `ether_output` → driver. All of it runs under the kernel lock with
//! `&mut KernelState`. Every dropped packet is counted in the statistics below, one
//! counter per reason, named after NetBSD's.

pub mod if_inarp;
pub mod in_pcb;
pub mod in_proto;
pub mod ip_icmp;
pub mod ip_input;
pub mod ip_output;
pub mod ip_reass;
pub mod raw_ip;
pub mod tcp_congctl;
pub mod tcp_fsm;
pub mod tcp_input;
pub mod tcp_isn;
pub mod tcp_output;
pub mod tcp_reass;
pub mod tcp_rtt;
pub mod tcp_sack;
pub mod tcp_seq;
pub mod tcp_sysctl;
pub mod tcp_timer;
pub mod tcp_usrreq;
pub mod tcp_var;
pub mod udp_usrreq;

#[allow(clippy::module_inception)]
pub mod r#in;

use crate::kern::kernel::KernelState;
use crate::net::route::RouteTable;

pub use r#in::InIfaddr;

/// IP statistics (`struct ipstat`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpStat {
    /// Packets received.
    pub ips_total: u64,
    /// Bad header checksum.
    pub ips_badsum: u64,
    /// Shorter than the header.
    pub ips_tooshort: u64,
    /// Total length shorter than the header, or longer than the frame.
    pub ips_badlen: u64,
    /// Header length field too small.
    pub ips_badhlen: u64,
    /// Not IP version 4.
    pub ips_badvers: u64,
    /// Bad options.
    pub ips_badoptions: u64,
    /// Fragments received.
    pub ips_fragments: u64,
    /// Fragments dropped (duplicates, overlaps, limits).
    pub ips_fragdropped: u64,
    /// Fragments dropped on reassembly timeout.
    pub ips_fragtimeout: u64,
    /// Datagrams reassembled.
    pub ips_reassembled: u64,
    /// Delivered to a protocol here.
    pub ips_delivered: u64,
    /// For an unknown protocol.
    pub ips_noproto: u64,
    /// Forwarded.
    pub ips_forward: u64,
    /// Not forwardable (forwarding off, or not for us and not routable).
    pub ips_cantforward: u64,
    /// Sent by us.
    pub ips_localout: u64,
    /// No route on output.
    pub ips_noroute: u64,
    /// Dropped on output (no buffers, interface down).
    pub ips_odropped: u64,
    /// Datagrams fragmented on output.
    pub ips_fragmented: u64,
    /// Fragments made on output.
    pub ips_ofragments: u64,
    /// Could not fragment (DF set).
    pub ips_cantfrag: u64,
    /// Source or destination not acceptable (broadcast from broadcast, etc.).
    pub ips_badaddr: u64,
    /// Not for us and forwarding is off.
    pub ips_notforus: u64,
}

/// ICMP statistics (`struct icmpstat`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IcmpStat {
    /// Errors we generated.
    pub icps_error: u64,
    /// No error because the packet was an ICMP error itself.
    pub icps_oldicmp: u64,
    /// Errors not sent: rate limit.
    pub icps_ratelimited: u64,
    /// Received: too short.
    pub icps_tooshort: u64,
    /// Received: bad checksum.
    pub icps_checksum: u64,
    /// Echo replies we sent.
    pub icps_reflect: u64,
    /// Received messages, by type.
    pub icps_inhist: [u64; 19],
    /// Sent messages, by type.
    pub icps_outhist: [u64; 19],
}

/// UDP statistics (`struct udpstat`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpStat {
    /// Datagrams received.
    pub udps_ipackets: u64,
    /// Shorter than the header.
    pub udps_hdrops: u64,
    /// Bad checksum.
    pub udps_badsum: u64,
    /// Bad length field.
    pub udps_badlen: u64,
    /// No socket on the port (unicast).
    pub udps_noport: u64,
    /// No socket on the port (broadcast).
    pub udps_noportbcast: u64,
    /// Socket buffer full.
    pub udps_fullsock: u64,
    /// Datagrams sent.
    pub udps_opackets: u64,
}

/// ARP statistics (`struct arpstat`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArpStat {
    /// Requests sent.
    pub as_sndrequest: u64,
    /// Replies sent.
    pub as_sndreply: u64,
    /// Gratuitous announcements sent.
    pub as_sndgarp: u64,
    /// Packets received.
    pub as_rcvtotal: u64,
    /// Requests received.
    pub as_rcvrequest: u64,
    /// Replies received.
    pub as_rcvreply: u64,
    /// Malformed.
    pub as_rcvbadproto: u64,
    /// For an address not ours (answered nothing).
    pub as_rcvforeign: u64,
    /// From our own address (a duplicate address on the link).
    pub as_dupips: u64,
    /// Packets dropped waiting for resolution (hold queue full).
    pub as_dfrdropped: u64,
    /// Packets dropped because resolution failed.
    pub as_dropped: u64,
    /// Entries expired.
    pub as_timeouts: u64,
}

/// The state of the inet domain of one kernel.
pub struct InetState {
    /// Interface addresses.
    pub in_ifaddrs: Vec<InIfaddr>,
    /// The routing table.
    pub rt: RouteTable,
    /// The ARP table.
    pub arp: if_inarp::ArpTable,
    /// Fragments being reassembled.
    pub reass: ip_reass::IpReass,
    /// UDP control blocks.
    pub udbtable: in_pcb::InpcbTable,
    /// Raw IP sockets, with their protocol.
    pub rawcb: Vec<(crate::kern::uipc_socket::SocketId, u8)>,
    /// IP statistics.
    pub ipstat: IpStat,
    /// ICMP statistics.
    pub icmpstat: IcmpStat,
    /// UDP statistics.
    pub udpstat: UdpStat,
    /// ARP statistics.
    pub arpstat: ArpStat,
    /// TCP: the connection table, statistics and ISN secret.
    pub tcp: tcp_var::TcpGlobals,
    /// Next IP identification.
    pub ip_id: u16,
    /// ICMP error rate limiting: tokens and the tick they were counted at.
    pub icmp_tokens: (u32, u64),
}

impl KernelState {
    /// The inet state, when the kernel runs its own stack.
    pub fn inet(&self) -> Option<&InetState> {
        self.inet.as_deref()
    }

    /// The inet state, mutably.
    pub fn inet_mut(&mut self) -> Option<&mut InetState> {
        self.inet.as_deref_mut()
    }

    /// A random 16-bit number from the host's source.
    pub fn random16(&self) -> u16 {
        let mut b = [0u8; 2];
        self.host.getrandom(&mut b);
        u16::from_ne_bytes(b)
    }
}
