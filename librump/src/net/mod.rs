//! Interfaces, Ethernet, loopback and routing, independent of any address family
//! (NetBSD: sys/net).

pub mod bpf;
pub mod if_ethersubr;
pub mod if_loop;
pub mod ifnet;
pub mod route;
pub mod rtsock;
pub mod rtsock_msg;
