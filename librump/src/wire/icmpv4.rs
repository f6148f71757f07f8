//! ICMP for IPv4 (RFC 792, with RFC 1191's next-hop MTU).
//!
//! An ICMP message is an 8-byte header (type, code, checksum, four bytes whose meaning
//! depends on the type) and data. The checksum covers the whole message, so a view must
//! be given exactly the message: the IPv4 payload, which [`super::Ipv4Packet::payload`]
//! already cuts at the total length.
//!
//! Error messages (destination unreachable, time exceeded, parameter problem, redirect)
//! quote the datagram that caused them: its IP header, options included, and at least
//! its first 8 bytes, enough for the transport ports. [`Icmpv4Repr::parse`] rejects an
//! error whose quote is shorter than that, as NetBSD's icmp_input does with
//! `icmplen < ICMP_ADVLEN(icp)` (`icps_badlen`), so ctlinput may read the quoted ports
//! without further checks: the quoted header is at `data[..ihl * 4]` and the ports
//! follow it. In the Repr, `data` is always the quote exactly as it was on the wire.
//!
//! Echo messages with a nonzero code and message types this stack does not use parse as
//! [`Icmpv4Repr::Other`], which keeps every byte, so `emit` gives back the same message.

use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::Ipv4Repr;
use super::{read_ipv4, read_u16, write_u16, ChecksumCheck, WireError};

/// The length of the ICMP header.
pub const HEADER_LEN: usize = 8;

/// Declares a one-byte ICMP enum with an `Unknown(u8)` variant and both conversions.
macro_rules! icmp_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// Any other value.
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

icmp_enum! {
    /// The message type.
    Icmpv4Message {
        /// 0.
        EchoReply = 0,
        /// 3.
        DstUnreachable = 3,
        /// 5.
        Redirect = 5,
        /// 8.
        EchoRequest = 8,
        /// 11.
        TimeExceeded = 11,
        /// 12.
        ParamProblem = 12,
    }
}

impl Icmpv4Message {
    /// Whether the message reports an error about a quoted datagram (NetBSD:
    /// !ICMP_INFOTYPE). Source quench (4) is one too, though deprecated (RFC 6633).
    pub const fn is_error(&self) -> bool {
        matches!(
            self,
            Icmpv4Message::DstUnreachable
                | Icmpv4Message::Redirect
                | Icmpv4Message::TimeExceeded
                | Icmpv4Message::ParamProblem
                | Icmpv4Message::Unknown(4)
        )
    }
}

icmp_enum! {
    /// Codes of destination unreachable (RFC 792, RFC 1122, RFC 1812).
    Icmpv4DstUnreachable {
        /// 0.
        NetUnreachable = 0,
        /// 1.
        HostUnreachable = 1,
        /// 2.
        ProtoUnreachable = 2,
        /// 3.
        PortUnreachable = 3,
        /// 4: fragmentation needed and DF set; the header carries the next-hop MTU.
        FragRequired = 4,
        /// 5.
        SrcRouteFailed = 5,
        /// 6.
        DstNetUnknown = 6,
        /// 7.
        DstHostUnknown = 7,
        /// 8.
        SrcHostIsolated = 8,
        /// 9.
        NetProhibited = 9,
        /// 10.
        HostProhibited = 10,
        /// 11.
        NetUnreachToS = 11,
        /// 12.
        HostUnreachToS = 12,
        /// 13.
        CommProhibited = 13,
        /// 14.
        HostPrecedenceViolation = 14,
        /// 15.
        PrecedenceCutoff = 15,
    }
}

icmp_enum! {
    /// Codes of time exceeded.
    Icmpv4TimeExceeded {
        /// 0: TTL reached zero in transit.
        TtlExpired = 0,
        /// 1: fragment reassembly time exceeded.
        FragReassembly = 1,
    }
}

icmp_enum! {
    /// Codes of redirect.
    Icmpv4Redirect {
        /// 0.
        Net = 0,
        /// 1.
        Host = 1,
        /// 2.
        NetTos = 2,
        /// 3.
        HostTos = 3,
    }
}

mod field {
    use std::ops::{Range, RangeFrom};

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// The four type-dependent bytes.
    pub const REST: Range<usize> = 4..8;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    pub const NEXT_HOP_MTU: Range<usize> = 6..8;
    pub const GATEWAY: Range<usize> = 4..8;
    pub const POINTER: usize = 4;
    pub const DATA: RangeFrom<usize> = 8..;
}

/// A view of an ICMP message.
///
/// On a view from [`Icmpv4Packet::new_checked`] every getter is in bounds. On one from
/// `new_unchecked`, header getters panic below [`HEADER_LEN`] bytes; `data` never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// Wraps `buffer` after checking that the header fits.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] below [`HEADER_LEN`] bytes (`icps_tooshort`).
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the header fits.
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

    /// The message type.
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The four type-dependent header bytes as one number.
    pub fn rest_of_header(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::REST];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The echo identifier.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// The echo sequence number.
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// The next-hop MTU of a "fragmentation needed" (RFC 1191); zero from old routers.
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }

    /// The gateway of a redirect.
    pub fn gateway(&self) -> Ipv4Addr {
        read_ipv4(self.buffer.as_ref(), field::GATEWAY.start)
    }

    /// The octet a parameter problem points at, counted from the quoted IP header.
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// Whether the checksum verifies (over the whole buffer).
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// The data after the header: echo data, or the quoted datagram of an error.
    pub fn data(&self) -> &'a [u8] {
        self.buffer.as_ref().get(field::DATA).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: Icmpv4Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    /// Sets the code.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Stores `value` as the checksum.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the four type-dependent header bytes.
    pub fn set_rest_of_header(&mut self, value: u32) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO.start, value);
    }

    /// Sets the next-hop MTU (the two bytes before it are left alone).
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::NEXT_HOP_MTU.start, value);
    }

    /// Sets the gateway of a redirect.
    pub fn set_gateway(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::GATEWAY].copy_from_slice(&value.octets());
    }

    /// Sets the parameter-problem pointer (the three bytes after it are left alone).
    pub fn set_pointer(&mut self, value: u8) {
        self.buffer.as_mut()[field::POINTER] = value;
    }

    /// The data after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut().get_mut(field::DATA).unwrap_or(&mut [])
    }

    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::result(checksum::data(self.buffer.as_ref()));
        self.set_checksum(sum);
    }
}

/// A parsed ICMP message. `data` borrows the packet's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
    /// Type 8, code 0.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echo data.
        data: &'a [u8],
    },
    /// Type 0, code 0.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echo data.
        data: &'a [u8],
    },
    /// Type 3.
    DstUnreachable {
        /// The code.
        reason: Icmpv4DstUnreachable,
        /// The next-hop MTU (meaningful for [`Icmpv4DstUnreachable::FragRequired`]).
        next_hop_mtu: u16,
        /// The quoted IP header, parsed from `data` (its `payload_len` is the original's).
        header: Ipv4Repr,
        /// The quote: the original IP header with its options, then at least 8 bytes.
        data: &'a [u8],
    },
    /// Type 11.
    TimeExceeded {
        /// The code.
        reason: Icmpv4TimeExceeded,
        /// The quote, as for `DstUnreachable`.
        data: &'a [u8],
    },
    /// Type 12 (code 0, the pointer form).
    ParamProblem {
        /// The offset of the bad octet in the quoted datagram.
        pointer: u8,
        /// The quote.
        data: &'a [u8],
    },
    /// Type 5.
    Redirect {
        /// The code.
        reason: Icmpv4Redirect,
        /// Where to send instead.
        gateway: Ipv4Addr,
        /// The quote.
        data: &'a [u8],
    },
    /// Anything else, kept byte for byte.
    Other {
        /// The type.
        msg_type: Icmpv4Message,
        /// The code.
        code: u8,
        /// The four type-dependent header bytes.
        rest_of_header: u32,
        /// The data.
        data: &'a [u8],
    },
}

/// The part of `datagram` an ICMP error quotes: its header and 8 more bytes, or all of
/// it if shorter (NetBSD: icmp_error, `icmpreturndatabytes` = 8).
pub fn quote(datagram: &[u8]) -> &[u8] {
    let header_len = datagram.first().map_or(0, |&b| usize::from(b & 0x0f) * 4);
    let len = (header_len + 8).min(datagram.len());
    datagram.get(..len).unwrap_or(datagram)
}

/// Checks an error's quote: a whole IP header and 8 more bytes (ICMP_ADVLEN).
fn check_quote(data: &[u8]) -> Result<Ipv4Repr, WireError> {
    let header = Ipv4Repr::parse_quoted(data)?;
    let header_len = data.first().map_or(0, |&b| usize::from(b & 0x0f) * 4);
    if data.len() < header_len + 8 {
        return Err(WireError::Truncated);
    }
    Ok(header)
}

impl<'a> Icmpv4Repr<'a> {
    /// A destination unreachable about `datagram`, quoting [`quote`]`(datagram)`.
    ///
    /// # Errors
    ///
    /// Those of [`Ipv4Repr::parse_quoted`] if `datagram` does not start with an IP header.
    pub fn dst_unreachable(
        reason: Icmpv4DstUnreachable,
        next_hop_mtu: u16,
        datagram: &'a [u8],
    ) -> Result<Self, WireError> {
        let data = quote(datagram);
        Ok(Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            header: Ipv4Repr::parse_quoted(data)?,
            data,
        })
    }

    /// Parses a checked message.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] below 8 bytes; [`WireError::BadChecksum`]; for an error
    /// message, those of [`Ipv4Repr::parse_quoted`] or [`WireError::Truncated`] if the
    /// quote lacks the 8 bytes after the quoted header.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv4Packet<&'a T>,
        checksum: ChecksumCheck,
    ) -> Result<Self, WireError> {
        packet.check_len()?;
        if checksum == ChecksumCheck::Verify && !packet.verify_checksum() {
            return Err(WireError::BadChecksum);
        }
        let data = packet.data();
        let code = packet.msg_code();
        let msg_type = packet.msg_type();
        if msg_type.is_error() {
            let header = check_quote(data)?;
            match msg_type {
                Icmpv4Message::DstUnreachable => {
                    return Ok(Icmpv4Repr::DstUnreachable {
                        reason: code.into(),
                        next_hop_mtu: packet.next_hop_mtu(),
                        header,
                        data,
                    })
                }
                Icmpv4Message::TimeExceeded => {
                    return Ok(Icmpv4Repr::TimeExceeded {
                        reason: code.into(),
                        data,
                    })
                }
                Icmpv4Message::Redirect => {
                    return Ok(Icmpv4Repr::Redirect {
                        reason: code.into(),
                        gateway: packet.gateway(),
                        data,
                    })
                }
                Icmpv4Message::ParamProblem if code == 0 => {
                    return Ok(Icmpv4Repr::ParamProblem {
                        pointer: packet.pointer(),
                        data,
                    })
                }
                _ => {}
            }
        }
        let (ident, seq_no) = (packet.echo_ident(), packet.echo_seq_no());
        Ok(match (msg_type, code) {
            (Icmpv4Message::EchoRequest, 0) => Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            (Icmpv4Message::EchoReply, 0) => Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            },
            _ => Icmpv4Repr::Other {
                msg_type,
                code,
                rest_of_header: packet.rest_of_header(),
                data,
            },
        })
    }

    /// The data the message carries.
    pub const fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. }
            | Icmpv4Repr::EchoReply { data, .. }
            | Icmpv4Repr::DstUnreachable { data, .. }
            | Icmpv4Repr::TimeExceeded { data, .. }
            | Icmpv4Repr::ParamProblem { data, .. }
            | Icmpv4Repr::Redirect { data, .. }
            | Icmpv4Repr::Other { data, .. } => data,
        }
    }

    /// The whole message: header and data.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the message and its checksum. The buffer is the whole message: give it
    /// exactly `buffer_len()` bytes, since the checksum covers all of them.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        let (msg_type, code, rest) = match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => {
                let rest = u32::from(ident) << 16 | u32::from(seq_no);
                (Icmpv4Message::EchoRequest, 0, rest)
            }
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                let rest = u32::from(ident) << 16 | u32::from(seq_no);
                (Icmpv4Message::EchoReply, 0, rest)
            }
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => {
                let rest = u32::from(next_hop_mtu);
                (Icmpv4Message::DstUnreachable, reason.into(), rest)
            }
            Icmpv4Repr::TimeExceeded { reason, .. } => {
                (Icmpv4Message::TimeExceeded, reason.into(), 0)
            }
            Icmpv4Repr::ParamProblem { pointer, .. } => {
                (Icmpv4Message::ParamProblem, 0, u32::from(pointer) << 24)
            }
            Icmpv4Repr::Redirect {
                reason, gateway, ..
            } => (Icmpv4Message::Redirect, reason.into(), u32::from(gateway)),
            Icmpv4Repr::Other {
                msg_type,
                code,
                rest_of_header,
                ..
            } => (msg_type, code, rest_of_header),
        };
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_rest_of_header(rest);
        let data = self.data();
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests;
