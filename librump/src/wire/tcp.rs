//! TCP headers (RFC 9293 section 3.1), their options, and their checksum over the IPv4
//! pseudo-header.
//!
//! A TCP header has no length field of its own: the segment is the IP payload (padding
//! already cut off by the IP layer), so a [`TcpPacket`] view must wrap exactly that
//! many bytes. [`TcpPacket::new_checked`] makes NetBSD tcp_input's length checks, each
//! with its own error so tcp input can count it:
//!
//! | check                              | error                    | NetBSD counter    |
//! |------------------------------------|--------------------------|-------------------|
//! | buffer shorter than 20 bytes       | [`WireError::Truncated`] | `tcps_rcvshort`   |
//! | data offset < 5                    | [`WireError::BadLength`] | `tcps_rcvbadoff`  |
//! | data offset past the buffer        | [`WireError::BadLength`] | `tcps_rcvbadoff`  |
//!
//! [`TcpRepr::parse`] then verifies the checksum ([`WireError::BadChecksum`],
//! `tcps_rcvbadsum`) unless told [`ChecksumCheck::Skip`].
//!
//! ## What parse does not decide
//!
//! - **Options** are read as NetBSD's tcp_dooptions reads them: a malformed option is
//!   not a reason to drop the segment (Linux does the same). A length that cannot be
//!   followed ends the walk; a known option with the wrong length is skipped; what was
//!   read before stays. [`TcpOptionsIter`] reports each of these as
//!   [`WireError::BadOption`] for a caller that wants to count them. When an option
//!   appears twice, the last one wins. MSS, window scale and SACK-permitted are recorded
//!   on any segment; RFC 7323 section 2.2 and RFC 9293 say to honour them on a SYN only,
//!   and that is tcp input's business, as is clamping a window shift above 14.
//! - **Flags** are not judged: SYN with FIN, SYN with RST, or no flag at all parse fine.
//!   [`TcpFlags::is_contradictory`] names the combinations no state accepts; whether a
//!   segment without ACK is acceptable depends on the state (RFC 9293 3.10.7).
//!
//! ## Emitting options
//!
//! [`TcpRepr::emit_header`] lays options out the BSD way (NetBSD tcp_output): MSS, then
//! NOP + window scale, NOP NOP + SACK-permitted, NOP NOP + timestamps, NOP NOP + SACK
//! blocks, so each option's kind byte is 4-byte aligned and the 32-bit fields of
//! timestamps and SACK blocks are too. When that layout does not fit in the 40 option
//! bytes, the options are packed without the NOPs and padded with NOPs at the end; SACK
//! blocks that still do not fit are left out, last first (with timestamps, three fit,
//! as RFC 2018 section 3 expects).
//!
//! ## Checksums
//!
//! The checksum covers the pseudo-header (source, destination, protocol 6, TCP length),
//! the header and the payload. Unlike UDP, zero is an ordinary checksum value.
//! [`checksum_slices`] sums a header and an mbuf chain's slices without copying.
//!
//! [`fuzz_target`] parses the way tcp input will and checks the properties above on any
//! input (getters in bounds, option walk bounded, split checksums equal to flat ones,
//! emit-then-parse is the identity); [`fuzz_seeds`] are valid segments to mutate.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::{BitAnd, BitOr, BitOrAssign};

use super::checksum;
use super::ipv4::IpProtocol;
use super::{read_u16, write_u16, ChecksumCheck, WireError};

mod fuzzing;
mod options;

pub use fuzzing::{fuzz_seeds, fuzz_target};
pub use options::{
    emit_options, options_len, TcpOption, TcpOptionsIter, TCPOLEN_MAXSEG, TCPOLEN_SACK_BLOCK,
    TCPOLEN_SACK_PERMITTED, TCPOLEN_TIMESTAMP, TCPOLEN_WINDOW, TCPOPT_EOL, TCPOPT_MAXSEG,
    TCPOPT_NOP, TCPOPT_SACK, TCPOPT_SACK_PERMITTED, TCPOPT_TIMESTAMP, TCPOPT_WINDOW,
    TCP_MAX_SACK_BLOCKS,
};

/// The length of a header without options.
pub const HEADER_LEN: usize = 20;
/// The longest header: data offset 15.
pub const MAX_HEADER_LEN: usize = 60;
/// The most option bytes a header can carry.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;
/// The SACK blocks a [`TcpRepr`] carries: what fits next to timestamps (RFC 2018).
pub const TCP_REPR_SACK_BLOCKS: usize = 3;

mod field {
    use std::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    /// Data offset in the high nibble; the low nibble is reserved (and the old NS bit).
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// The eight flag bits of byte 13, with NetBSD's values (`TH_FIN` ... `TH_CWR`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(u8);

impl TcpFlags {
    /// No more data from the sender (TH_FIN).
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers (TH_SYN).
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection (TH_RST).
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push (TH_PUSH).
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment number is valid (TH_ACK).
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is valid (TH_URG).
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo (RFC 3168, TH_ECE).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced (RFC 3168, TH_CWR).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// No flags.
    pub const fn empty() -> Self {
        TcpFlags(0)
    }

    /// The flags of a flags byte.
    pub const fn from_bits(bits: u8) -> Self {
        TcpFlags(bits)
    }

    /// The flags byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// These flags and those of `other`.
    pub const fn union(self, other: TcpFlags) -> Self {
        TcpFlags(self.0 | other.0)
    }

    /// These flags without those of `other`.
    pub const fn difference(self, other: TcpFlags) -> Self {
        TcpFlags(self.0 & !other.0)
    }

    /// Sets or clears the flags of `other`.
    pub fn set(&mut self, other: TcpFlags, value: bool) {
        *self = if value {
            self.union(other)
        } else {
            self.difference(other)
        };
    }

    /// Whether FIN is set.
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }

    /// Whether SYN is set.
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }

    /// Whether RST is set.
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }

    /// Whether PSH is set.
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }

    /// Whether ACK is set.
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }

    /// Whether URG is set.
    pub const fn urg(self) -> bool {
        self.contains(Self::URG)
    }

    /// Whether ECE is set.
    pub const fn ece(self) -> bool {
        self.contains(Self::ECE)
    }

    /// Whether CWR is set.
    pub const fn cwr(self) -> bool {
        self.contains(Self::CWR)
    }

    /// Whether the flags contradict each other in every state: SYN with FIN (a scan;
    /// FreeBSD's drop_synfin) or SYN with RST. Parse accepts them; tcp input drops them.
    pub const fn is_contradictory(self) -> bool {
        self.syn() && (self.fin() || self.rst())
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;

    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        *self = self.union(rhs);
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;

    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for TcpFlags {
    /// Prints the set flags as `SYN|ACK`, or `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        if self.is_empty() {
            return f.write_str("-");
        }
        let mut first = true;
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// A view of a TCP segment: the whole IP payload, header and data.
///
/// On a view from [`TcpPacket::new_checked`] every getter is in bounds. On one from
/// `new_unchecked`, fixed-field getters panic below [`HEADER_LEN`] bytes; options,
/// payload and checksum getters never panic (they clamp to the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
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

    /// The checks of the module table (NetBSD: tcp_input.c tcp_input).
    ///
    /// # Errors
    ///
    /// As the module table says.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(WireError::BadLength);
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

    fn read_u32(&self, at: usize) -> u32 {
        let d = self.data();
        u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }

    /// The source port (th_sport).
    pub fn src_port(&self) -> u16 {
        read_u16(self.data(), field::SRC_PORT.start)
    }

    /// The destination port (th_dport).
    pub fn dst_port(&self) -> u16 {
        read_u16(self.data(), field::DST_PORT.start)
    }

    /// The sequence number (th_seq).
    pub fn seq_number(&self) -> u32 {
        self.read_u32(field::SEQ_NUM.start)
    }

    /// The acknowledgment number (th_ack), meaningful only with ACK.
    pub fn ack_number(&self) -> u32 {
        self.read_u32(field::ACK_NUM.start)
    }

    /// The data offset: the header length in 32-bit words (th_off).
    pub fn data_offset(&self) -> u8 {
        self.data()[field::DATA_OFF] >> 4
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }

    /// The flags byte (th_flags).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.data()[field::FLAGS])
    }

    /// Whether FIN is set.
    pub fn fin(&self) -> bool {
        self.flags().fin()
    }

    /// Whether SYN is set.
    pub fn syn(&self) -> bool {
        self.flags().syn()
    }

    /// Whether RST is set.
    pub fn rst(&self) -> bool {
        self.flags().rst()
    }

    /// Whether PSH is set.
    pub fn psh(&self) -> bool {
        self.flags().psh()
    }

    /// Whether ACK is set.
    pub fn ack(&self) -> bool {
        self.flags().ack()
    }

    /// Whether URG is set.
    pub fn urg(&self) -> bool {
        self.flags().urg()
    }

    /// Whether ECE is set.
    pub fn ece(&self) -> bool {
        self.flags().ece()
    }

    /// Whether CWR is set.
    pub fn cwr(&self) -> bool {
        self.flags().cwr()
    }

    /// The window field, unscaled (th_win).
    pub fn window_len(&self) -> u16 {
        read_u16(self.data(), field::WIN_SIZE.start)
    }

    /// The checksum as stored (th_sum).
    pub fn checksum(&self) -> u16 {
        read_u16(self.data(), field::CHECKSUM.start)
    }

    /// The urgent pointer (th_urp), meaningful only with URG.
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.data(), field::URGENT.start)
    }

    /// The sequence space the segment takes: payload bytes plus one each for SYN and
    /// FIN (RFC 9293's SEG.LEN).
    pub fn segment_len(&self) -> usize {
        let payload = self.data().len().saturating_sub(self.header_len());
        payload + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// Whether the checksum verifies for a segment from `src` to `dst`, the whole buffer
    /// being the segment (never for a buffer shorter than the header).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.data().len() >= HEADER_LEN && checksum_slices(src, dst, [self.data()]) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The options bytes: between the fixed header and the data offset, clamped to the
    /// buffer.
    pub fn options(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return &[];
        }
        let end = self.header_len().min(data.len());
        data.get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// A walker over the options.
    pub fn options_iter(&self) -> TcpOptionsIter<'a> {
        TcpOptionsIter::new(self.options())
    }

    /// The payload: everything after the header (empty if the data offset is past the
    /// buffer).
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return &[];
        }
        data.get(self.header_len().max(HEADER_LEN)..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn write_u32(&mut self, at: usize, value: u32) {
        self.data_mut()[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.data_mut(), field::SRC_PORT.start, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.data_mut(), field::DST_PORT.start, value);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        self.write_u32(field::SEQ_NUM.start, value);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: u32) {
        self.write_u32(field::ACK_NUM.start, value);
    }

    /// Sets the header length in bytes (a multiple of 4, at most 60; extra bits are
    /// lost) and clears the reserved bits beside it.
    pub fn set_header_len(&mut self, len: usize) {
        let words = ((len / 4) & 0x0f) as u8;
        self.data_mut()[field::DATA_OFF] = words << 4;
    }

    /// Sets the flags byte.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        self.data_mut()[field::FLAGS] = flags.bits();
    }

    fn set_flag(&mut self, flag: TcpFlags, value: bool) {
        let mut flags = self.flags();
        flags.set(flag, value);
        self.set_flags(flags);
    }

    /// Sets or clears FIN.
    pub fn set_fin(&mut self, value: bool) {
        self.set_flag(TcpFlags::FIN, value);
    }

    /// Sets or clears SYN.
    pub fn set_syn(&mut self, value: bool) {
        self.set_flag(TcpFlags::SYN, value);
    }

    /// Sets or clears RST.
    pub fn set_rst(&mut self, value: bool) {
        self.set_flag(TcpFlags::RST, value);
    }

    /// Sets or clears PSH.
    pub fn set_psh(&mut self, value: bool) {
        self.set_flag(TcpFlags::PSH, value);
    }

    /// Sets or clears ACK.
    pub fn set_ack(&mut self, value: bool) {
        self.set_flag(TcpFlags::ACK, value);
    }

    /// Sets or clears URG.
    pub fn set_urg(&mut self, value: bool) {
        self.set_flag(TcpFlags::URG, value);
    }

    /// Sets or clears ECE.
    pub fn set_ece(&mut self, value: bool) {
        self.set_flag(TcpFlags::ECE, value);
    }

    /// Sets or clears CWR.
    pub fn set_cwr(&mut self, value: bool) {
        self.set_flag(TcpFlags::CWR, value);
    }

    /// Sets the window field.
    pub fn set_window_len(&mut self, value: u16) {
        write_u16(self.data_mut(), field::WIN_SIZE.start, value);
    }

    /// Stores `value` as the checksum.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.data_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        write_u16(self.data_mut(), field::URGENT.start, value);
    }

    /// Computes and stores the checksum for a segment from `src` to `dst`, over the
    /// whole buffer.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let sum = checksum_slices(src, dst, [self.data()]);
        self.set_checksum(sum);
    }

    /// The options bytes, writable (clamped to the buffer).
    pub fn options_mut(&mut self) -> &mut [u8] {
        if self.data().len() < HEADER_LEN {
            return &mut [];
        }
        let header_len = self.header_len();
        let data = self.data_mut();
        let end = header_len.min(data.len());
        data.get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }

    /// The payload, writable: everything after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        if self.data().len() < HEADER_LEN {
            return &mut [];
        }
        let start = self.header_len().max(HEADER_LEN);
        self.data_mut().get_mut(start..).unwrap_or(&mut [])
    }
}

/// The checksum over the pseudo-header for `src` and `dst` and a TCP segment given as
/// slices in order (header first, then an mbuf chain's `iter_slices`). The
/// pseudo-header's length is the slices' total.
///
/// With a zero checksum field in the header this is the value to store; over a received
/// segment it is zero exactly when the stored checksum verifies.
pub fn checksum_slices<'a>(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    slices: impl IntoIterator<Item = &'a [u8]>,
) -> u16 {
    let mut len = 0usize;
    let data = checksum::data_slices(slices.into_iter().inspect(|s| len += s.len()));
    // A segment is at most 65515 bytes; a longer chain is the caller's bug and just gets
    // a wrong checksum, not a panic.
    let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp, (len & 0xffff) as u16);
    checksum::result(checksum::combine(&[pseudo, data]))
}

/// The fields of a TCP header that the stack uses.
///
/// ACK is not in `flags`: it is `ack_number.is_some()`. `urgent_at` is zero unless URG
/// is in `flags`. Parse gives both shapes and emit relies on them (it ignores an ACK in
/// `flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// FIN, SYN, RST, PSH, URG, ECE, CWR as on the wire (never ACK).
    pub flags: TcpFlags,
    /// Sequence number of the first byte (of the SYN, if set).
    pub seq_number: u32,
    /// The acknowledgment number, if ACK is set.
    pub ack_number: Option<u32>,
    /// The window field, unscaled.
    pub window_len: u16,
    /// The urgent pointer, if URG is set; else zero.
    pub urgent_at: u16,
    /// The window-scale option's shift, as sent (not clamped to 14).
    pub window_scale: Option<u8>,
    /// The MSS option.
    pub max_seg_size: Option<u16>,
    /// The SACK-permitted option.
    pub sack_permitted: bool,
    /// SACK blocks `(left, right)`, the first ones of the last SACK option; compact (no
    /// `Some` after a `None` once parsed; emit skips `None` slots).
    pub sack_ranges: [Option<(u32, u32)>; TCP_REPR_SACK_BLOCKS],
    /// The timestamps option: (TSval, TSecr).
    pub timestamp: Option<(u32, u32)>,
    /// Payload bytes after the header.
    pub payload_len: usize,
}

/// How [`TcpRepr::emit_header`] lays out the options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OptionsLayout {
    /// Each option 4-byte aligned with leading NOPs (else packed, NOPs at the end).
    aligned: bool,
    /// SACK blocks that fit.
    sack_blocks: usize,
    /// Option bytes, padding included.
    len: usize,
}

impl TcpRepr {
    /// Parses a segment that came from `src` to `dst`, verifying the checksum unless
    /// told [`ChecksumCheck::Skip`]. Options are read as the module docs say.
    ///
    /// # Errors
    ///
    /// Those of [`TcpPacket::check_len`]; [`WireError::BadChecksum`] (`tcps_rcvbadsum`).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        checksum: ChecksumCheck,
    ) -> Result<Self, WireError> {
        packet.check_len()?;
        if checksum == ChecksumCheck::Verify && !packet.verify_checksum(src, dst) {
            return Err(WireError::BadChecksum);
        }
        let flags = packet.flags();
        let mut repr = TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            flags: flags.difference(TcpFlags::ACK),
            seq_number: packet.seq_number(),
            ack_number: flags.ack().then(|| packet.ack_number()),
            window_len: packet.window_len(),
            urgent_at: if flags.urg() { packet.urgent_at() } else { 0 },
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; TCP_REPR_SACK_BLOCKS],
            timestamp: None,
            payload_len: packet.payload().len(),
        };
        // A bad option is skipped (or ends the walk), as tcp_dooptions does.
        for option in packet.options_iter().flatten() {
            match option {
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(shift) => repr.window_scale = Some(shift),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::TimeStamp { tsval, tsecr } => repr.timestamp = Some((tsval, tsecr)),
                TcpOption::SackRange(blocks) => {
                    repr.sack_ranges = [None; TCP_REPR_SACK_BLOCKS];
                    for (slot, block) in repr.sack_ranges.iter_mut().zip(blocks) {
                        *slot = block;
                    }
                }
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(repr)
    }

    /// The flags byte emit writes: `flags` with ACK following `ack_number`.
    pub fn wire_flags(&self) -> TcpFlags {
        let mut flags = self.flags;
        flags.set(TcpFlags::ACK, self.ack_number.is_some());
        flags
    }

    /// The sequence space the segment takes: payload plus one each for SYN and FIN.
    pub fn segment_len(&self) -> usize {
        self.payload_len + usize::from(self.flags.syn()) + usize::from(self.flags.fin())
    }

    /// The SACK blocks set, in order.
    fn sack_blocks(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.sack_ranges.iter().flatten().copied()
    }

    /// The option layout of the module docs.
    fn options_layout(&self) -> OptionsLayout {
        let (mss, ws, sok, ts) = (
            self.max_seg_size.is_some(),
            self.window_scale.is_some(),
            self.sack_permitted,
            self.timestamp.is_some(),
        );
        let sized = |present: bool, len: usize| if present { len } else { 0 };
        let aligned_base = sized(mss, 4) + sized(ws, 4) + sized(sok, 4) + sized(ts, 12);
        let packed_base = sized(mss, TCPOLEN_MAXSEG)
            + sized(ws, TCPOLEN_WINDOW)
            + sized(sok, TCPOLEN_SACK_PERMITTED)
            + sized(ts, TCPOLEN_TIMESTAMP);
        let mut n = self.sack_blocks().count();
        loop {
            let sack = sized(n > 0, 2 + TCPOLEN_SACK_BLOCK * n);
            let aligned = aligned_base + sized(n > 0, 2) + sack;
            if aligned <= MAX_OPTIONS_LEN {
                return OptionsLayout {
                    aligned: true,
                    sack_blocks: n,
                    len: aligned,
                };
            }
            let packed = (packed_base + sack).next_multiple_of(4);
            // Without SACK blocks the packed options take at most 20 bytes: n = 0 ends
            // the loop.
            if packed <= MAX_OPTIONS_LEN || n == 0 {
                return OptionsLayout {
                    aligned: false,
                    sack_blocks: n,
                    len: packed,
                };
            }
            n -= 1;
        }
    }

    /// The bytes the header takes, options included (a multiple of 4, at most 60).
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options_layout().len
    }

    /// The whole segment: header and payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Writes the header and its options with a zero checksum, for a payload that lies
    /// elsewhere (an mbuf chain): fill the checksum afterwards with [`checksum_slices`]
    /// over the header and the payload.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `header_len()`.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        let layout = self.options_layout();
        assert!(
            packet.buffer.as_ref().len() >= HEADER_LEN + layout.len,
            "TCP header buffer too short"
        );
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number.unwrap_or(0));
        packet.set_header_len(HEADER_LEN + layout.len);
        packet.set_flags(self.wire_flags());
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);

        let mut sack = [None; TCP_MAX_SACK_BLOCKS];
        for (slot, block) in sack
            .iter_mut()
            .zip(self.sack_blocks().take(layout.sack_blocks))
        {
            *slot = Some(block);
        }
        let nop = TcpOption::NoOperation;
        let mut list = [nop; 13];
        let mut n = 0;
        let mut push = |pad: usize, option: TcpOption<'static>| {
            if layout.aligned {
                n += pad;
            }
            list[n] = option;
            n += 1;
        };
        if let Some(mss) = self.max_seg_size {
            push(0, TcpOption::MaxSegmentSize(mss));
        }
        if let Some(shift) = self.window_scale {
            push(1, TcpOption::WindowScale(shift));
        }
        if self.sack_permitted {
            push(2, TcpOption::SackPermitted);
        }
        if let Some((tsval, tsecr)) = self.timestamp {
            push(2, TcpOption::TimeStamp { tsval, tsecr });
        }
        if layout.sack_blocks > 0 {
            push(2, TcpOption::SackRange(sack));
        }
        emit_options(&list[..n], packet.options_mut());
    }

    /// Writes the header, lets `emit_payload` write the `payload_len` payload bytes, then
    /// fills the checksum for a segment from `src` to `dst`.
    ///
    /// # Panics
    ///
    /// If the buffer is not `buffer_len()` bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        emit_payload: impl FnOnce(&mut [u8]),
    ) {
        self.emit_header(packet);
        let payload = packet.payload_mut();
        assert!(
            payload.len() == self.payload_len,
            "TCP buffer is not header + payload long"
        );
        emit_payload(payload);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests;
