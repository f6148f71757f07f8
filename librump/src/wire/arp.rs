//! ARP packets (RFC 826), of which this stack speaks only Ethernet/IPv4.
//!
//! The view reads any hardware and protocol address lengths, since the header says where
//! the addresses lie: `new_checked` checks the fixed 8 bytes and then that all four
//! addresses fit. [`ArpRepr::parse`] then insists on hardware type 1 (Ethernet), protocol
//! type 0x0800, hlen 6 and plen 4; anything else is [`WireError::Unsupported`], which arp
//! input counts and drops (NetBSD: if_arp.c in_arpinput, "arp: unknown hardware
//! address format"). An unknown operation still parses, as [`ArpOperation::Unknown`], so
//! arp input can count it by name.
//!
//! Over Ethernet an ARP packet is 28 bytes followed by padding to the 60-byte minimum
//! frame; the view ignores whatever follows the addresses.

use std::net::Ipv4Addr;

use super::ethernet::{EtherType, EthernetAddress};
use super::WireError;

/// The length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = 28;

/// Hardware type: Ethernet (ARPHRD_ETHER).
const HTYPE_ETHERNET: u16 = 1;

/// The ARP operation (ar_op).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1: who has the target protocol address?
    Request,
    /// 2: the sender has it.
    Reply,
    /// Anything else (RARP, InARP, ...).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> Self {
        match value {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> Self {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

mod field {
    use std::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    /// Where the addresses begin.
    pub const ADDRS: usize = 8;

    /// Sender hardware address, for hardware length `h`.
    pub const fn sha(h: usize) -> Range<usize> {
        ADDRS..ADDRS + h
    }
    /// Sender protocol address.
    pub const fn spa(h: usize, p: usize) -> Range<usize> {
        ADDRS + h..ADDRS + h + p
    }
    /// Target hardware address.
    pub const fn tha(h: usize, p: usize) -> Range<usize> {
        ADDRS + h + p..ADDRS + 2 * h + p
    }
    /// Target protocol address.
    pub const fn tpa(h: usize, p: usize) -> Range<usize> {
        ADDRS + 2 * h + p..ADDRS + 2 * h + 2 * p
    }
}

/// A view of an ARP packet of any address lengths.
///
/// On a view from [`ArpPacket::new_checked`] every getter is in bounds. On one from
/// `new_unchecked`, fixed-field getters panic below 8 bytes; address getters never panic
/// and return an empty slice when the addresses do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps `buffer` after checking that the fixed header and all four addresses fit.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if they do not.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the fixed header and the addresses it announces fit in the buffer.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if they do not.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::ADDRS || len < field::tpa(self.hlen(), self.plen()).end {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The hardware type (1 for Ethernet).
    pub fn htype(&self) -> u16 {
        super::read_u16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// The protocol type (an EtherType).
    pub fn ptype(&self) -> EtherType {
        EtherType::from(super::read_u16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// The hardware address length.
    pub fn hlen(&self) -> usize {
        self.buffer
            .as_ref()
            .get(field::HLEN)
            .map_or(0, |&b| usize::from(b))
    }

    /// The protocol address length.
    pub fn plen(&self) -> usize {
        self.buffer
            .as_ref()
            .get(field::PLEN)
            .map_or(0, |&b| usize::from(b))
    }

    /// The operation.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(super::read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// The sender hardware address (hlen bytes).
    pub fn source_hardware_addr(&self) -> &[u8] {
        self.addr(field::sha(self.hlen()))
    }

    /// The sender protocol address (plen bytes).
    pub fn source_protocol_addr(&self) -> &[u8] {
        self.addr(field::spa(self.hlen(), self.plen()))
    }

    /// The target hardware address (hlen bytes).
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.addr(field::tha(self.hlen(), self.plen()))
    }

    /// The target protocol address (plen bytes).
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.addr(field::tpa(self.hlen(), self.plen()))
    }

    fn addr(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.buffer.as_ref().get(range).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    pub fn set_htype(&mut self, value: u16) {
        super::write_u16(self.buffer.as_mut(), field::HTYPE.start, value);
    }

    /// Sets the protocol type.
    pub fn set_ptype(&mut self, value: EtherType) {
        super::write_u16(self.buffer.as_mut(), field::PTYPE.start, value.into());
    }

    /// Sets the hardware address length.
    pub fn set_hlen(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length.
    pub fn set_plen(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, value: ArpOperation) {
        super::write_u16(self.buffer.as_mut(), field::OPER.start, value.into());
    }

    /// Sets the sender hardware address.
    ///
    /// # Panics
    ///
    /// If `value` is not hlen bytes long or does not fit.
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        let range = field::sha(self.hlen());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the sender protocol address.
    ///
    /// # Panics
    ///
    /// If `value` is not plen bytes long or does not fit.
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        let range = field::spa(self.hlen(), self.plen());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the target hardware address.
    ///
    /// # Panics
    ///
    /// If `value` is not hlen bytes long or does not fit.
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let range = field::tha(self.hlen(), self.plen());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the target protocol address.
    ///
    /// # Panics
    ///
    /// If `value` is not plen bytes long or does not fit.
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let range = field::tpa(self.hlen(), self.plen());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }
}

/// A parsed ARP packet: only Ethernet/IPv4 exists here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpRepr {
    /// Hardware type 1, protocol 0x0800, 6-byte and 4-byte addresses.
    EthernetIpv4 {
        /// Request, reply or unknown.
        operation: ArpOperation,
        /// ar_sha.
        source_hardware_addr: EthernetAddress,
        /// ar_spa.
        source_protocol_addr: Ipv4Addr,
        /// ar_tha (zero in a request).
        target_hardware_addr: EthernetAddress,
        /// ar_tpa.
        target_protocol_addr: Ipv4Addr,
    },
}

impl ArpRepr {
    /// Parses an Ethernet/IPv4 ARP packet.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if the addresses do not fit (an unchecked view);
    /// [`WireError::Unsupported`] for any other hardware type, protocol type or address
    /// lengths.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<Self, WireError> {
        packet.check_len()?;
        if packet.htype() != HTYPE_ETHERNET
            || packet.ptype() != EtherType::Ipv4
            || packet.hlen() != 6
            || packet.plen() != 4
        {
            return Err(WireError::Unsupported);
        }
        Ok(ArpRepr::EthernetIpv4 {
            operation: packet.operation(),
            source_hardware_addr: ether(packet.source_hardware_addr())?,
            source_protocol_addr: ipv4(packet.source_protocol_addr())?,
            target_hardware_addr: ether(packet.target_hardware_addr())?,
            target_protocol_addr: ipv4(packet.target_protocol_addr())?,
        })
    }

    /// The bytes `emit` writes (28).
    pub const fn buffer_len(&self) -> usize {
        match self {
            ArpRepr::EthernetIpv4 { .. } => ETHERNET_IPV4_LEN,
        }
    }

    /// Writes the packet into `packet`.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`ArpRepr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        match *self {
            ArpRepr::EthernetIpv4 {
                operation,
                source_hardware_addr,
                source_protocol_addr,
                target_hardware_addr,
                target_protocol_addr,
            } => {
                packet.set_htype(HTYPE_ETHERNET);
                packet.set_ptype(EtherType::Ipv4);
                packet.set_hlen(6);
                packet.set_plen(4);
                packet.set_operation(operation);
                packet.set_source_hardware_addr(&source_hardware_addr.0);
                packet.set_source_protocol_addr(&source_protocol_addr.octets());
                packet.set_target_hardware_addr(&target_hardware_addr.0);
                packet.set_target_protocol_addr(&target_protocol_addr.octets());
            }
        }
    }
}

fn ether(bytes: &[u8]) -> Result<EthernetAddress, WireError> {
    <[u8; 6]>::try_from(bytes)
        .map(EthernetAddress)
        .map_err(|_| WireError::Truncated)
}

fn ipv4(bytes: &[u8]) -> Result<Ipv4Addr, WireError> {
    <[u8; 4]>::try_from(bytes)
        .map(Ipv4Addr::from)
        .map_err(|_| WireError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ArpRepr {
        ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            source_protocol_addr: Ipv4Addr::new(10, 0, 1, 1),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Addr::new(10, 0, 1, 2),
        }
    }

    fn emit(repr: &ArpRepr) -> Vec<u8> {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        buf
    }

    #[test]
    fn wire_layout() {
        let buf = emit(&request());
        assert_eq!(
            buf,
            [
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 1, 1, 0, 0, 0, 0, 0, 0, 10, 0, 1,
                2
            ]
        );
        let packet = ArpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.htype(), 1);
        assert_eq!(packet.ptype(), EtherType::Ipv4);
        assert_eq!((packet.hlen(), packet.plen()), (6, 4));
        assert_eq!(packet.operation(), ArpOperation::Request);
        assert_eq!(packet.target_protocol_addr(), &[10, 0, 1, 2]);
    }

    #[test]
    fn round_trip() {
        let reply = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Reply,
            source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            source_protocol_addr: Ipv4Addr::new(10, 0, 1, 2),
            target_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            target_protocol_addr: Ipv4Addr::new(10, 0, 1, 1),
        };
        for repr in [request(), reply] {
            let mut buf = emit(&repr);
            assert_eq!(
                ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()),
                Ok(repr)
            );
            // Ethernet padding after the packet changes nothing.
            buf.resize(46, 0);
            assert_eq!(
                ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()),
                Ok(repr)
            );
        }
        let mut buf = emit(&request());
        buf[7] = 9;
        let packet = ArpPacket::new_checked(&buf[..]).unwrap();
        let Ok(ArpRepr::EthernetIpv4 { operation, .. }) = ArpRepr::parse(&packet) else {
            panic!("unknown operation must parse");
        };
        assert_eq!(operation, ArpOperation::Unknown(9));
        assert_eq!(u16::from(operation), 9);
    }

    #[test]
    fn truncated_at_every_length() {
        let buf = emit(&request());
        for len in 0..ETHERNET_IPV4_LEN {
            assert_eq!(
                ArpPacket::new_checked(&buf[..len]),
                Err(WireError::Truncated),
                "length {len}"
            );
            let unchecked = ArpPacket::new_unchecked(&buf[..len]);
            assert!(unchecked.target_protocol_addr().len() < 4);
            if len >= 8 {
                assert_eq!(ArpRepr::parse(&unchecked), Err(WireError::Truncated));
            }
        }
    }

    #[test]
    fn unsupported_formats() {
        let good = emit(&request());
        // IEEE 802 hardware (htype 6), IPv6 protocol, wrong address lengths.
        let mut htype6 = good.clone();
        htype6[1] = 6;
        let mut ptype = good.clone();
        ptype[2..4].copy_from_slice(&[0x86, 0xdd]);
        for bad in [htype6, ptype] {
            let packet = ArpPacket::new_checked(&bad[..]).unwrap();
            assert_eq!(ArpRepr::parse(&packet), Err(WireError::Unsupported));
        }
        // hlen 4, plen 4: 24 bytes fit, a well-formed packet of another kind.
        let mut short_hw = good.clone();
        short_hw[4] = 4;
        let packet = ArpPacket::new_checked(&short_hw[..]).unwrap();
        assert_eq!(ArpRepr::parse(&packet), Err(WireError::Unsupported));
        // hlen 255 announces addresses far past the buffer.
        let mut long_hw = good;
        long_hw[4] = 255;
        assert_eq!(
            ArpPacket::new_checked(&long_hw[..]),
            Err(WireError::Truncated)
        );
        let unchecked = ArpPacket::new_unchecked(&long_hw[..]);
        assert!(unchecked.source_hardware_addr().is_empty());
    }
}
