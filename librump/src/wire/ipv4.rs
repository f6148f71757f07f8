//! IPv4 headers (RFC 791), their options, and the protocol numbers they carry.
//!
//! [`Ipv4Packet::new_checked`] makes the checks NetBSD's ip_input makes before it trusts
//! a header, in the same order, each with its own error so ip input can count it:
//!
//! | check                              | error                     | NetBSD counter  |
//! |------------------------------------|---------------------------|-----------------|
//! | buffer shorter than 20 bytes       | [`WireError::Truncated`]  | `ips_toosmall`  |
//! | version is not 4                   | [`WireError::BadVersion`] | `ips_badvers`   |
//! | ihl < 5                            | [`WireError::BadLength`]  | `ips_badhlen`   |
//! | header length past the buffer      | [`WireError::Truncated`]  | `ips_badhlen`   |
//! | total length < header length       | [`WireError::BadLength`]  | `ips_badlen`    |
//! | total length past the buffer       | [`WireError::Truncated`]  | `ips_tooshort`  |
//!
//! A buffer longer than the total length is fine: that is Ethernet padding (or a driver
//! that hands over a whole cluster), and [`Ipv4Packet::payload`] stops at the total
//! length, so the layers above never see the padding. [`Ipv4Repr::parse`] then verifies
//! the header checksum (`ips_badsum`) and walks the options (`ips_badoptions`).
//!
//! Options are walked, not interpreted: [`Ipv4OptionsIter`] yields EOL, NOP and
//! type-length-value options and stops with [`WireError::BadOption`] at a length below 2
//! or past the options area, so ip input can skip (or strip) options without reading out
//! of bounds. Source routing, record route and timestamps are not implemented here.
//!
//! Fragment fields are in the view, not in [`Ipv4Repr`]: a Repr describes a header, and
//! ip input must ask [`Ipv4Packet::is_fragment`] before it treats a payload as a whole
//! datagram.

use std::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::{read_ipv4, read_u16, write_u16, ChecksumCheck, WireError};

mod options;

pub use options::{
    Ipv4Option, Ipv4OptionsIter, IPOPT_EOL, IPOPT_LSRR, IPOPT_NOP, IPOPT_RA, IPOPT_RR,
    IPOPT_SECURITY, IPOPT_SSRR, IPOPT_TS,
};

/// The length of a header without options.
pub const HEADER_LEN: usize = 20;
/// The longest header: ihl 15.
pub const MAX_HEADER_LEN: usize = 60;

/// The protocol field: what the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// 1.
    Icmp,
    /// 2.
    Igmp,
    /// 6.
    Tcp,
    /// 17.
    Udp,
    /// 41: IPv6 in IPv4.
    Ipv6,
    /// 58.
    Icmpv6,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            1 => IpProtocol::Icmp,
            2 => IpProtocol::Igmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            41 => IpProtocol::Ipv6,
            58 => IpProtocol::Icmpv6,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::Icmp => 1,
            IpProtocol::Igmp => 2,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6 => 41,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Igmp => f.write_str("IGMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Ipv6 => f.write_str("IPv6"),
            IpProtocol::Icmpv6 => f.write_str("ICMPv6"),
            IpProtocol::Unknown(n) => write!(f, "protocol {n}"),
        }
    }
}

mod field {
    use std::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Don't fragment (IP_DF).
const FLAG_DF: u16 = 0x4000;
/// More fragments (IP_MF).
const FLAG_MF: u16 = 0x2000;
/// The offset, in 8-byte units (IP_OFFMASK).
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 header and its payload.
///
/// On a view from [`Ipv4Packet::new_checked`] every getter is in bounds. On one from
/// `new_unchecked`, fixed-field getters panic below [`HEADER_LEN`] bytes; options and
/// payload getters never panic (they clamp to the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps `buffer` after the checks of the module table.
    ///
    /// # Errors
    ///
    /// As the module table says, one error per check.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The checks of the module table (NetBSD: ip_input.c ip_input).
    ///
    /// # Errors
    ///
    /// As the module table says.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if self.version() != 4 {
            return Err(WireError::BadVersion);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        if header_len > len {
            return Err(WireError::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(WireError::BadLength);
        }
        if total_len > len {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version (4).
    pub fn version(&self) -> u8 {
        self.data()[field::VER_IHL] >> 4
    }

    /// The header length in 32-bit words (ip_hl).
    pub fn ihl(&self) -> u8 {
        self.data()[field::VER_IHL] & 0x0f
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }

    /// The type-of-service byte (ip_tos): DSCP and ECN.
    pub fn tos(&self) -> u8 {
        self.data()[field::TOS]
    }

    /// The differentiated services code point: the high six bits of the TOS byte.
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// The explicit congestion notification bits: the low two bits of the TOS byte.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// The total length of the datagram, header included (ip_len).
    pub fn total_len(&self) -> u16 {
        read_u16(self.data(), field::LENGTH.start)
    }

    /// The identification (ip_id).
    pub fn ident(&self) -> u16 {
        read_u16(self.data(), field::IDENT.start)
    }

    fn flags_offset(&self) -> u16 {
        read_u16(self.data(), field::FLG_OFF.start)
    }

    /// The don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// The more-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// The fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) * 8
    }

    /// Whether this is a fragment: more fragments follow, or it is not the first.
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// The time to live (ip_ttl).
    pub fn ttl(&self) -> u8 {
        self.data()[field::TTL]
    }

    /// The protocol of the payload (ip_p).
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.data()[field::PROTOCOL])
    }

    /// The header checksum as stored (ip_sum).
    pub fn checksum(&self) -> u16 {
        read_u16(self.data(), field::CHECKSUM.start)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        read_ipv4(self.data(), field::SRC_ADDR.start)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        read_ipv4(self.data(), field::DST_ADDR.start)
    }

    /// Whether the header checksum verifies (over the header, options included).
    pub fn verify_checksum(&self) -> bool {
        let data = self.data();
        if data.len() < HEADER_LEN {
            return false;
        }
        let header = data.get(..self.header_len()).unwrap_or(data);
        checksum::data(header) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The options bytes: between the fixed header and the header length.
    pub fn options(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return &[];
        }
        data.get(HEADER_LEN..self.header_len()).unwrap_or(&[])
    }

    /// A walker over the options.
    pub fn options_iter(&self) -> Ipv4OptionsIter<'a> {
        Ipv4OptionsIter::new(self.options())
    }

    /// The payload: from the header length to the total length, padding excluded.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return &[];
        }
        let end = usize::from(self.total_len()).min(data.len());
        data.get(self.header_len()..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the version.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.data_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Sets the header length in bytes (a multiple of 4, at most 60; extra bits are lost).
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = ((len / 4) & 0x0f) as u8;
        let b = &mut self.data_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ihl;
    }

    /// Sets the type-of-service byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.data_mut()[field::TOS] = tos;
    }

    /// Sets the DSCP, keeping the ECN bits.
    pub fn set_dscp(&mut self, dscp: u8) {
        let tos = (dscp << 2) | self.ecn();
        self.set_tos(tos);
    }

    /// Sets the ECN bits, keeping the DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        let tos = (self.tos() & !0x03) | (ecn & 0x03);
        self.set_tos(tos);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.data_mut(), field::LENGTH.start, len);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.data_mut(), field::IDENT.start, ident);
    }

    fn set_flags_offset(&mut self, value: u16) {
        write_u16(self.data_mut(), field::FLG_OFF.start, value);
    }

    /// Clears the flags and the fragment offset.
    pub fn clear_flags(&mut self) {
        self.set_flags_offset(0);
    }

    /// Sets or clears don't-fragment.
    pub fn set_dont_frag(&mut self, value: bool) {
        let v = self.flags_offset() & !FLAG_DF;
        self.set_flags_offset(if value { v | FLAG_DF } else { v });
    }

    /// Sets or clears more-fragments.
    pub fn set_more_frags(&mut self, value: bool) {
        let v = self.flags_offset() & !FLAG_MF;
        self.set_flags_offset(if value { v | FLAG_MF } else { v });
    }

    /// Sets the fragment offset in bytes (a multiple of 8; the low three bits are lost).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let v = (self.flags_offset() & !OFFSET_MASK) | (offset / 8);
        self.set_flags_offset(v);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.data_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.data_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Stores `value` as the header checksum.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.data_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.data_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.data_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes and stores the header checksum (over the header length, options included).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let data = self.data_mut();
        let header = data.get(..header_len).unwrap_or(data);
        let sum = checksum::result(checksum::data(header));
        self.set_checksum(sum);
    }

    /// The options bytes, writable (clamped to the buffer).
    pub fn options_mut(&mut self) -> &mut [u8] {
        if self.data().len() < HEADER_LEN {
            return &mut [];
        }
        let header_len = self.header_len();
        self.data_mut()
            .get_mut(HEADER_LEN..header_len)
            .unwrap_or(&mut [])
    }

    /// The payload, writable: header length to total length, clamped to the buffer.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        if self.data().len() < HEADER_LEN {
            return &mut [];
        }
        let (start, total) = (self.header_len(), usize::from(self.total_len()));
        let data = self.data_mut();
        let end = total.min(data.len());
        data.get_mut(start..end).unwrap_or(&mut [])
    }
}

/// The fields of an IPv4 header that the stack uses, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Payload length: total length minus header length.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Type of service (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't fragment.
    pub dont_frag: bool,
}

impl Ipv4Repr {
    /// Parses a header: the length checks of `new_checked`, the checksum unless told
    /// [`ChecksumCheck::Skip`], then the option lengths.
    ///
    /// # Errors
    ///
    /// Those of [`Ipv4Packet::check_len`]; [`WireError::BadChecksum`];
    /// [`WireError::BadOption`] (a corrupt header counts as a bad checksum first).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Ipv4Packet<&T>,
        checksum: ChecksumCheck,
    ) -> Result<Self, WireError> {
        packet.check_len()?;
        if checksum == ChecksumCheck::Verify && !packet.verify_checksum() {
            return Err(WireError::BadChecksum);
        }
        Ipv4OptionsIter::check(packet.options())?;
        Ok(Self::from_header(packet))
    }

    /// Parses the header quoted in an ICMP error: the datagram was cut short, so the total
    /// length is not checked against the buffer, and neither is the checksum. `payload_len`
    /// is that of the original datagram.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if the header does not fit; [`WireError::BadVersion`];
    /// [`WireError::BadLength`] if ihl < 5 or the total length is below the header length.
    pub fn parse_quoted(data: &[u8]) -> Result<Self, WireError> {
        let packet = Ipv4Packet::new_unchecked(data);
        if data.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if packet.version() != 4 {
            return Err(WireError::BadVersion);
        }
        if packet.header_len() < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        if packet.header_len() > data.len() {
            return Err(WireError::Truncated);
        }
        if usize::from(packet.total_len()) < packet.header_len() {
            return Err(WireError::BadLength);
        }
        Ok(Self::from_header(&packet))
    }

    fn from_header<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>) -> Self {
        Ipv4Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()).saturating_sub(packet.header_len()),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        }
    }

    /// The bytes `emit` writes: a header without options.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole datagram: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes a 20-byte header (no options, not a fragment) with its checksum. The payload
    /// is the caller's to write, before or after.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`], or if `buffer_len()` exceeds 65535
    /// (ip output must have refused such a datagram with EMSGSIZE).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let total_len =
            u16::try_from(self.buffer_len()).expect("IPv4 datagram longer than 65535 bytes");
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len(total_len);
        packet.set_ident(self.ident);
        packet.clear_flags();
        packet.set_dont_frag(self.dont_frag);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src);
        packet.set_dst_addr(self.dst);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests;
