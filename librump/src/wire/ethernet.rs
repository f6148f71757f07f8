//! Ethernet II frames (IEEE 802.3 with an EtherType; DIX framing as NetBSD's if_ethersubr.c
//! reads it).
//!
//! A frame here is what a driver hands over: destination, source, EtherType, payload, with
//! no preamble and no FCS. The payload may carry padding up to the 60-byte minimum frame;
//! the network layer trims it by its own length field (IPv4 total length), so this view
//! never guesses. 802.1Q tags and 802.3 length fields (EtherType < 0x0600) come out as
//! [`EtherType::Unknown`] and are dropped by ether input.

use std::fmt;

use super::WireError;

/// The length of the Ethernet header: two addresses and the EtherType.
pub const HEADER_LEN: usize = 14;

/// A 48-bit IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// The address as its six bytes.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// An individual address: the group bit (I/G, bit 0 of the first byte) is clear.
    pub const fn is_unicast(&self) -> bool {
        self.0[0] & 0x01 == 0
    }

    /// A group address: the group bit is set. The broadcast address is one.
    pub const fn is_multicast(&self) -> bool {
        !self.is_unicast()
    }

    /// ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// A locally administered address (U/L bit set), as tap and shmif addresses are.
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The EtherType field. Build it with `From<u16>` so known values never land in `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// 0x0800.
    Ipv4,
    /// 0x0806.
    Arp,
    /// 0x86dd.
    Ipv6,
    /// Anything else, including 802.1Q (0x8100) and 802.3 lengths.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Unknown(n) => write!(f, "0x{n:04x}"),
        }
    }
}

mod field {
    use std::ops::{Range, RangeFrom};

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;
}

/// A view of an Ethernet frame in a buffer.
///
/// On a view from [`EthernetFrame::new_checked`] every getter is in bounds. On one from
/// `new_unchecked`, getters panic if the buffer is shorter than [`HEADER_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer` after checking that it holds a whole header.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if it is shorter than [`HEADER_LEN`].
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds a whole header.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if it does not.
    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length of the header ([`HEADER_LEN`]).
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// The frame length for a payload of `payload_len` bytes.
    pub const fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// The destination address.
    pub fn dst_addr(&self) -> EthernetAddress {
        address(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// The source address.
    pub fn src_addr(&self) -> EthernetAddress {
        address(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The EtherType.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(super::read_u16(
            self.buffer.as_ref(),
            field::ETHERTYPE.start,
        ))
    }
}

/// Six bytes as an address (`field` ranges are six bytes long).
fn address(bytes: &[u8]) -> EthernetAddress {
    let mut addr = [0u8; 6];
    addr.copy_from_slice(bytes);
    EthernetAddress(addr)
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// The payload: everything after the header, link-layer padding included.
    pub fn payload(&self) -> &'a [u8] {
        self.buffer.as_ref().get(field::PAYLOAD).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        super::write_u16(
            self.buffer.as_mut(),
            field::ETHERTYPE.start,
            ethertype.into(),
        );
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD)
            .unwrap_or(&mut [])
    }
}

/// The header of an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// The sender.
    pub src_addr: EthernetAddress,
    /// The receiver, or a group address.
    pub dst_addr: EthernetAddress,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of a checked frame. Every header parses; ether input decides what
    /// to do with unknown EtherTypes and foreign addresses.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if the frame is shorter than a header (an unchecked view).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&T>) -> Result<Self, WireError> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// The bytes `emit` writes: the header only; the payload is the inner Repr's.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `frame`.
    ///
    /// # Panics
    ///
    /// If the frame is shorter than [`HEADER_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
        0x02, 0x00, 0x0a, 0x00, 0x01, 0x02, // src
        0x08, 0x06, // ARP
        0xde, 0xad, 0xbe, 0xef,
    ];

    #[test]
    fn addresses() {
        let a = EthernetAddress([0x02, 0x00, 0x0a, 0x00, 0x01, 0x02]);
        assert!(a.is_unicast() && a.is_local() && !a.is_multicast() && !a.is_broadcast());
        assert_eq!(a.to_string(), "02:00:0a:00:01:02");
        let m = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        assert!(m.is_multicast() && !m.is_unicast() && !m.is_broadcast());
        let b = EthernetAddress::BROADCAST;
        assert!(b.is_broadcast() && b.is_multicast() && !b.is_unicast());
        assert_eq!(b.to_string(), "ff:ff:ff:ff:ff:ff");
        assert_eq!(b.as_bytes(), &[0xff; 6]);
    }

    #[test]
    fn ethertypes() {
        for (n, t) in [(0x0800, EtherType::Ipv4), (0x0806, EtherType::Arp)] {
            assert_eq!(EtherType::from(n), t);
            assert_eq!(u16::from(t), n);
        }
        assert_eq!(EtherType::from(0x86dd), EtherType::Ipv6);
        assert_eq!(EtherType::from(0x8100), EtherType::Unknown(0x8100));
        assert_eq!(u16::from(EtherType::Unknown(0x1234)), 0x1234);
        assert_eq!(EtherType::Unknown(0x88cc).to_string(), "0x88cc");
    }

    #[test]
    fn parse_view() {
        let frame = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(frame.src_addr(), EthernetAddress([2, 0, 10, 0, 1, 2]));
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        let header_only = EthernetFrame::new_checked(&FRAME[..HEADER_LEN]).unwrap();
        assert!(header_only.payload().is_empty());
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&FRAME[..len]),
                Err(WireError::Truncated),
                "length {len}"
            );
            let unchecked = EthernetFrame::new_unchecked(&FRAME[..len]);
            assert_eq!(EthernetRepr::parse(&unchecked), Err(WireError::Truncated));
            assert!(unchecked.payload().is_empty());
        }
    }

    #[test]
    fn repr_round_trip() {
        let repr = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EtherType::Ipv4,
        };
        let mut buf = vec![0u8; EthernetFrame::<&[u8]>::buffer_len(4)];
        let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(repr.buffer_len(), HEADER_LEN);
        let frame = EthernetFrame::new_checked(&buf[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&frame), Ok(repr));
        assert_eq!(frame.payload(), &[1, 2, 3, 4]);
        assert_eq!(&buf[12..14], &[0x08, 0x00]);
    }
}
