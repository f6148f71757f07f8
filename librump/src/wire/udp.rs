//! UDP headers (RFC 768) and their checksum over the IPv4 pseudo-header.
//!
//! [`UdpPacket::new_checked`] makes NetBSD udp_input's length checks: a buffer shorter
//! than the header is [`WireError::Truncated`] (`udps_hdrops`); a length field below 8 is
//! [`WireError::BadLength`] and one past the buffer [`WireError::Truncated`] (both
//! `udps_badlen`). A buffer longer than the length field is fine, as NetBSD trims it with
//! m_adj: [`UdpPacket::payload`] stops at the length field.
//!
//! The checksum covers the pseudo-header (source, destination, protocol 17, UDP length),
//! the header and the payload. A stored zero means the sender computed none, which IPv4
//! allows (RFC 768; NetBSD counts nothing and accepts); a computed zero is therefore sent
//! as 0xffff, its one's-complement twin. [`checksum_slices`] computes the checksum over
//! the slices of an mbuf chain without copying.

use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::IpProtocol;
use super::{read_u16, write_u16, ChecksumCheck, WireError};

/// The length of the UDP header.
pub const HEADER_LEN: usize = 8;

mod field {
    use std::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// A view of a UDP datagram.
///
/// On a view from [`UdpPacket::new_checked`] every getter is in bounds. On one from
/// `new_unchecked`, header getters panic below [`HEADER_LEN`] bytes; `payload` and the
/// checksum functions never panic (they clamp to the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps `buffer` after the length checks of the module docs.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] if the header does not fit or the length field runs past
    /// the buffer; [`WireError::BadLength`] if the length field is below 8.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The length checks of the module docs.
    ///
    /// # Errors
    ///
    /// As for [`UdpPacket::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        if len > buffer_len {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The length field: header and payload (uh_ulen).
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Whether the datagram carries no payload (a length field of 8 or less).
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum as stored; zero means none.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The datagram as the length field bounds it, clamped to the buffer.
    fn datagram(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return data;
        }
        data.get(..usize::from(self.len())).unwrap_or(data)
    }

    /// Whether the checksum verifies for a datagram from `src` to `dst`; a stored zero
    /// (no checksum) always does.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return false;
        }
        if self.checksum() == 0 {
            return true;
        }
        checksum_slices(src, dst, [self.datagram()]) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// The payload: from the header to the length field, clamped to the buffer.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return &[];
        }
        let end = usize::from(self.len()).min(data.len());
        data.get(HEADER_LEN..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, value);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Stores `value` as the checksum.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes and stores the checksum for a datagram from `src` to `dst`, over the
    /// length field's bytes; a computed zero is stored as 0xffff.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let sum = checksum_slices(src, dst, [self.datagram()]);
        self.set_checksum(wire_checksum(sum));
    }

    /// The payload, writable: header to length field, clamped to the buffer.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return &mut [];
        }
        let len = usize::from(self.len());
        let data = self.buffer.as_mut();
        let end = len.min(data.len());
        data.get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }
}

/// The checksum over the pseudo-header for `src` and `dst` and a UDP datagram given as
/// slices in order (header first; an mbuf chain's `iter_slices`). The pseudo-header's
/// length is the slices' total, which must be the datagram's length field (trim the
/// chain to it first).
///
/// With a zero checksum field in the header this is the value to store (after
/// [`wire_checksum`]); over a received datagram whose stored checksum is nonzero, it is
/// zero exactly when that checksum verifies.
pub fn checksum_slices<'a>(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    slices: impl IntoIterator<Item = &'a [u8]>,
) -> u16 {
    let mut len = 0usize;
    let data = checksum::data_slices(slices.into_iter().inspect(|s| len += s.len()));
    // A datagram is at most 65535 bytes; a longer chain is the caller's bug and just
    // gets a wrong checksum, not a panic.
    let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Udp, (len & 0xffff) as u16);
    checksum::result(checksum::combine(&[pseudo, data]))
}

/// The value to store for a computed checksum: zero means "no checksum" on the wire, so
/// a computed zero goes out as 0xffff (RFC 768).
pub const fn wire_checksum(computed: u16) -> u16 {
    if computed == 0 {
        0xffff
    } else {
        computed
    }
}

/// The fields of a UDP header that the stack uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length: the length field minus 8.
    pub payload_len: usize,
}

impl UdpRepr {
    /// Parses a datagram that came from `src` to `dst`, verifying a nonzero checksum
    /// unless told [`ChecksumCheck::Skip`].
    ///
    /// # Errors
    ///
    /// Those of [`UdpPacket::check_len`]; [`WireError::BadChecksum`] (`udps_badsum`).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &UdpPacket<&T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        checksum: ChecksumCheck,
    ) -> Result<Self, WireError> {
        packet.check_len()?;
        if checksum == ChecksumCheck::Verify && !packet.verify_checksum(src, dst) {
            return Err(WireError::BadChecksum);
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()).saturating_sub(HEADER_LEN),
        })
    }

    /// The bytes the header takes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole datagram: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header with a zero checksum, for a payload that lies elsewhere (an mbuf
    /// chain): fill the checksum afterwards with [`checksum_slices`] and
    /// [`wire_checksum`].
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`] or `buffer_len()` exceeds 65535.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) {
        let len = u16::try_from(self.buffer_len()).expect("UDP datagram longer than 65535 bytes");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        packet.set_checksum(0);
    }

    /// Writes the header, lets `emit_payload` write the `payload_len` payload bytes, then
    /// fills the checksum for a datagram from `src` to `dst`.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `buffer_len()` or that exceeds 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        emit_payload: impl FnOnce(&mut [u8]),
    ) {
        self.emit_header(packet);
        let payload = packet.payload_mut();
        assert!(payload.len() == self.payload_len, "UDP buffer too short");
        emit_payload(payload);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests;
