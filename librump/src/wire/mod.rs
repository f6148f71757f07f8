//! # Wire formats: the bytes of Ethernet, ARP, IPv4, ICMP and UDP
//!
//! This room knows how headers look on the wire and nothing about protocol state: no
//! timers, no tables, no counters. Each header comes in two shapes, after smoltcp:
//!
//! - A **packet view**, `XxxPacket<T: AsRef<[u8]>>`, wraps a buffer without copying it.
//!   Every field has a named byte range in a private `field` module and a getter that
//!   reads it in network byte order; when `T` is also `AsMut<[u8]>` a setter writes it.
//!   Views are what the input path uses to look at a packet where it lies (an mbuf's data,
//!   a received frame), and what the output path uses to write headers into headroom.
//! - A **representation**, `XxxRepr`, is a small plain value holding the fields that
//!   matter, already validated. `parse` builds one from a checked view (and rejects what
//!   the protocol forbids: bad checksums, unsupported hardware types, ...), `emit` writes
//!   one into a view, and `buffer_len` says how many bytes the emitted packet takes
//!   (`header_len` where a Repr writes a header in front of a payload it does not hold).
//!   `emit` then `parse` gives back the same Repr; the unit tests check it for each one.
//!
//! ## The panic-freedom contract
//!
//! Input comes from the wire, so nothing here may panic on it:
//!
//! - `new_checked(buffer)` validates every length the view's getters depend on (the
//!   fixed header fits, a header-length field is sane and fits, a total-length field is
//!   neither shorter than the header nor longer than the buffer). On a view it returned,
//!   **every getter is in bounds**, whatever the other bytes hold.
//! - Getters of variable-length parts (options, payloads) clamp their ranges to the
//!   buffer, so they stay in bounds even if a setter later wrote a nonsense length.
//! - `new_unchecked` is for buffers the stack built itself (output headroom of the right
//!   size); on those a getter of a fixed field panics if the buffer is shorter than the
//!   fixed header. That is a bug in the caller, documented on each type.
//! - `emit` writes into a buffer of at least `buffer_len()` bytes; a shorter one is a
//!   caller bug and panics (`# Panics` on each `emit`).
//!
//! The fuzz smoke harness in [`fuzz`] drives every parser in this room over mutated
//! valid packets, the way the input path does (Ethernet, then ARP or IPv4, then ICMP or
//! UDP), and the `cargo fuzz` targets call the same entry points.
//!
//! ## Errors are drops
//!
//! A parse failure is a [`WireError`]: a unit-like enum with one variant per reason, so
//! the caller can bump the matching counter (`ipstat.ips_badsum`, `udpstat.udps_badlen`,
//! ...) and free the packet. It never becomes an errno: a malformed packet is the
//! network's problem, not the caller's (STYLE.md habits 6 and 10).
//!
//! ## Checksums
//!
//! [`checksum`] has the RFC 1071 Internet checksum, summed eight bytes at a time, over one
//! slice or over the slices of an mbuf chain. Parsers verify checksums unless told
//! [`ChecksumCheck::Skip`] (a driver that offloads verification, or a quoted header);
//! `emit` always fills them.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod fuzz;
pub mod icmpv4;
pub mod ipv4;
pub mod pcap;
pub mod tcp;
pub mod udp;

use std::fmt;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use icmpv4::{
    Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Redirect, Icmpv4Repr,
    Icmpv4TimeExceeded,
};
pub use ipv4::{IpProtocol, Ipv4Option, Ipv4OptionsIter, Ipv4Packet, Ipv4Repr};
pub use pcap::{PcapReader, PcapWriter};
pub use tcp::{TcpFlags, TcpOption, TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};

/// Why a packet could not be parsed. Each variant maps to a drop counter, never an errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer ends before the header (or a length field says the packet does).
    Truncated,
    /// The version field is not the one this parser reads (IPv4: not 4).
    BadVersion,
    /// A length field contradicts itself (IPv4 ihl < 5, total length < header length,
    /// UDP length < 8).
    BadLength,
    /// The checksum does not verify.
    BadChecksum,
    /// An IPv4 option has a length that is < 2 or runs past the options area.
    BadOption,
    /// A field holds a value the protocol forbids.
    Malformed,
    /// A well-formed packet of a kind this stack does not speak (ARP other than
    /// Ethernet/IPv4).
    Unsupported,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            WireError::Truncated => "truncated packet",
            WireError::BadVersion => "bad version",
            WireError::BadLength => "bad length field",
            WireError::BadChecksum => "bad checksum",
            WireError::BadOption => "bad option",
            WireError::Malformed => "malformed packet",
            WireError::Unsupported => "unsupported packet",
        };
        f.write_str(s)
    }
}

impl std::error::Error for WireError {}

/// Whether a parser verifies checksums (smoltcp's ChecksumCapabilities, reduced to the
/// one question the software stack asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumCheck {
    /// Verify, and reject a bad checksum with [`WireError::BadChecksum`].
    Verify,
    /// Trust the checksum: the driver verified it, or the header is a quote inside an
    /// ICMP error, whose checksum routers on the way may have left stale.
    Skip,
}

/// Reads the big-endian `u16` at `at`.
///
/// # Panics
///
/// If `data` is shorter than `at + 2`; views call it only on checked offsets.
#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Writes `value` big-endian at `at`.
///
/// # Panics
///
/// If `data` is shorter than `at + 2`; views call it only on checked offsets.
#[inline]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Reads four bytes at `at` as an IPv4 address.
///
/// # Panics
///
/// If `data` is shorter than `at + 4`; views call it only on checked offsets.
#[inline]
pub(crate) fn read_ipv4(data: &[u8], at: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3])
}
