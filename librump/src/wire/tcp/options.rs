//! TCP options (RFC 9293 section 3.2, RFC 7323, RFC 2018): a bounds-checked walker and
//! an emitter.
//!
//! An option is one byte (EOL, NOP) or kind, length, value, where the length counts the
//! kind and length bytes. [`TcpOptionsIter`] checks what NetBSD's tcp_dooptions checks,
//! and reports each failure as [`WireError::BadOption`]:
//!
//! - a length byte that is missing, below 2, or runs past the options area: the walk
//!   cannot go on, so the iterator yields the error and stops (tcp_dooptions `break`s);
//! - a known option with the wrong length (MSS not 4, window scale not 3, SACK-permitted
//!   not 2, timestamps not 10, SACK not 2 + 8n with n >= 1): the length still says where
//!   the next option starts, so the iterator yields the error and goes on (tcp_dooptions
//!   `continue`s and ignores the option).
//!
//! The iterator never reads outside the slice it was given and always ends: each step
//! moves forward by at least one byte or stops.

use crate::wire::WireError;

/// End of option list.
pub const TCPOPT_EOL: u8 = 0;
/// No operation: one byte of padding.
pub const TCPOPT_NOP: u8 = 1;
/// Maximum segment size (RFC 9293).
pub const TCPOPT_MAXSEG: u8 = 2;
/// Window scale (RFC 7323).
pub const TCPOPT_WINDOW: u8 = 3;
/// SACK permitted (RFC 2018).
pub const TCPOPT_SACK_PERMITTED: u8 = 4;
/// SACK blocks (RFC 2018).
pub const TCPOPT_SACK: u8 = 5;
/// Timestamps (RFC 7323).
pub const TCPOPT_TIMESTAMP: u8 = 8;

/// The length of the MSS option.
pub const TCPOLEN_MAXSEG: usize = 4;
/// The length of the window-scale option.
pub const TCPOLEN_WINDOW: usize = 3;
/// The length of the SACK-permitted option.
pub const TCPOLEN_SACK_PERMITTED: usize = 2;
/// The length of the timestamps option.
pub const TCPOLEN_TIMESTAMP: usize = 10;
/// The length of one SACK block (two sequence numbers).
pub const TCPOLEN_SACK_BLOCK: usize = 8;
/// The most SACK blocks one option can carry: 2 + 4 * 8 = 34 of the 40 option bytes.
pub const TCP_MAX_SACK_BLOCKS: usize = 4;

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// End of the option list; the rest of the area is padding.
    EndOfList,
    /// One byte of padding.
    NoOperation,
    /// The largest segment the sender of a SYN can receive (meaningful on SYN only).
    MaxSegmentSize(u16),
    /// The window shift count (RFC 7323; meaningful on SYN only). Not clamped here: a
    /// shift above 14 is the receiver's to treat as 14.
    WindowScale(u8),
    /// The sender can receive SACK blocks (meaningful on SYN only).
    SackPermitted,
    /// Up to four SACK blocks `(left edge, right edge)`, in the order sent; unused
    /// slots are `None`.
    SackRange([Option<(u32, u32)>; TCP_MAX_SACK_BLOCKS]),
    /// Timestamps (RFC 7323): the sender's clock and the echoed one.
    TimeStamp {
        /// TSval.
        tsval: u32,
        /// TSecr.
        tsecr: u32,
    },
    /// An option this stack does not interpret.
    Unknown {
        /// The kind byte.
        kind: u8,
        /// The bytes after the kind and length bytes.
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// The kind byte of this option.
    pub const fn kind(&self) -> u8 {
        match self {
            TcpOption::EndOfList => TCPOPT_EOL,
            TcpOption::NoOperation => TCPOPT_NOP,
            TcpOption::MaxSegmentSize(_) => TCPOPT_MAXSEG,
            TcpOption::WindowScale(_) => TCPOPT_WINDOW,
            TcpOption::SackPermitted => TCPOPT_SACK_PERMITTED,
            TcpOption::SackRange(_) => TCPOPT_SACK,
            TcpOption::TimeStamp { .. } => TCPOPT_TIMESTAMP,
            TcpOption::Unknown { kind, .. } => *kind,
        }
    }

    /// The bytes the option takes on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => TCPOLEN_MAXSEG,
            TcpOption::WindowScale(_) => TCPOLEN_WINDOW,
            TcpOption::SackPermitted => TCPOLEN_SACK_PERMITTED,
            TcpOption::SackRange(blocks) => {
                2 + TCPOLEN_SACK_BLOCK * blocks.iter().flatten().count()
            }
            TcpOption::TimeStamp { .. } => TCPOLEN_TIMESTAMP,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` and returns its length. SACK blocks are
    /// written in order, skipping `None` slots (a `SackRange` with no block at all
    /// writes a 2-byte option that receivers reject: do not send one).
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`TcpOption::buffer_len`], or an `Unknown` option's data
    /// is longer than 253 bytes (its length byte would overflow).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf[0] = self.kind();
        if len > 1 {
            buf[1] = u8::try_from(len).expect("TCP option longer than 255 bytes");
        }
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::SackPermitted => {}
            TcpOption::MaxSegmentSize(mss) => buf[2..4].copy_from_slice(&mss.to_be_bytes()),
            TcpOption::WindowScale(shift) => buf[2] = *shift,
            TcpOption::SackRange(blocks) => {
                for (chunk, (left, right)) in buf[2..]
                    .chunks_exact_mut(TCPOLEN_SACK_BLOCK)
                    .zip(blocks.iter().flatten())
                {
                    chunk[..4].copy_from_slice(&left.to_be_bytes());
                    chunk[4..].copy_from_slice(&right.to_be_bytes());
                }
            }
            TcpOption::TimeStamp { tsval, tsecr } => {
                buf[2..6].copy_from_slice(&tsval.to_be_bytes());
                buf[6..10].copy_from_slice(&tsecr.to_be_bytes());
            }
            TcpOption::Unknown { data, .. } => buf[2..].copy_from_slice(data),
        }
        len
    }
}

/// The bytes [`emit_options`] writes for `options`: their lengths rounded up to a
/// multiple of 4.
pub fn options_len(options: &[TcpOption<'_>]) -> usize {
    options
        .iter()
        .map(TcpOption::buffer_len)
        .sum::<usize>()
        .next_multiple_of(4)
}

/// Writes `options` in order at the start of `buf`, then NOPs up to a multiple of four
/// bytes (the data offset counts 32-bit words); returns the bytes written.
///
/// # Panics
///
/// If `buf` is shorter than [`options_len`], or as [`TcpOption::emit`].
pub fn emit_options(options: &[TcpOption<'_>], buf: &mut [u8]) -> usize {
    let mut at = 0;
    for option in options {
        at += option.emit(&mut buf[at..]);
    }
    let end = at.next_multiple_of(4);
    buf[at..end].fill(TCPOPT_NOP);
    end
}

/// A walker over the options area of a TCP header, with the checks of the module docs.
#[derive(Debug, Clone)]
pub struct TcpOptionsIter<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> TcpOptionsIter<'a> {
    /// A walker over `options` (the bytes between the fixed header and the data offset).
    pub const fn new(options: &'a [u8]) -> Self {
        TcpOptionsIter {
            data: options,
            pos: 0,
            done: false,
        }
    }

    /// The offset of the next option; after an error, of the option after the bad one
    /// (or of the bad one, if the walk stopped there).
    pub const fn offset(&self) -> usize {
        self.pos
    }

    /// Walks all options.
    ///
    /// # Errors
    ///
    /// [`WireError::BadOption`] at the first bad option.
    pub fn check(options: &[u8]) -> Result<(), WireError> {
        TcpOptionsIter::new(options).try_for_each(|o| o.map(|_| ()))
    }

    /// Decodes a kind-length-value option with a length already known to fit.
    fn decode(kind: u8, body: &'a [u8]) -> Result<TcpOption<'a>, WireError> {
        let word = |at: usize| {
            body.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
        };
        let len = body.len() + 2;
        let option = match kind {
            TCPOPT_MAXSEG if len == TCPOLEN_MAXSEG => {
                TcpOption::MaxSegmentSize(u16::from_be_bytes([body[0], body[1]]))
            }
            TCPOPT_WINDOW if len == TCPOLEN_WINDOW => TcpOption::WindowScale(body[0]),
            TCPOPT_SACK_PERMITTED if len == TCPOLEN_SACK_PERMITTED => TcpOption::SackPermitted,
            TCPOPT_TIMESTAMP if len == TCPOLEN_TIMESTAMP => TcpOption::TimeStamp {
                tsval: word(0).ok_or(WireError::BadOption)?,
                tsecr: word(4).ok_or(WireError::BadOption)?,
            },
            TCPOPT_SACK
                if !body.is_empty()
                    && body.len().is_multiple_of(TCPOLEN_SACK_BLOCK)
                    && body.len() <= TCP_MAX_SACK_BLOCKS * TCPOLEN_SACK_BLOCK =>
            {
                let mut blocks = [None; TCP_MAX_SACK_BLOCKS];
                for (slot, at) in blocks.iter_mut().zip((0..body.len()).step_by(8)) {
                    *slot = Some((
                        word(at).ok_or(WireError::BadOption)?,
                        word(at + 4).ok_or(WireError::BadOption)?,
                    ));
                }
                TcpOption::SackRange(blocks)
            }
            TCPOPT_MAXSEG
            | TCPOPT_WINDOW
            | TCPOPT_SACK_PERMITTED
            | TCPOPT_TIMESTAMP
            | TCPOPT_SACK => return Err(WireError::BadOption),
            _ => TcpOption::Unknown { kind, data: body },
        };
        Ok(option)
    }
}

impl<'a> Iterator for TcpOptionsIter<'a> {
    type Item = Result<TcpOption<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.pos;
        let Some(&kind) = self.data.get(offset) else {
            self.done = true;
            return None;
        };
        match kind {
            TCPOPT_EOL => {
                self.done = true;
                Some(Ok(TcpOption::EndOfList))
            }
            TCPOPT_NOP => {
                self.pos += 1;
                Some(Ok(TcpOption::NoOperation))
            }
            _ => {
                let len = self.data.get(offset + 1).map_or(0, |&b| usize::from(b));
                let body = if len >= 2 {
                    self.data.get(offset + 2..offset + len)
                } else {
                    None
                };
                let Some(body) = body else {
                    self.done = true;
                    return Some(Err(WireError::BadOption));
                };
                self.pos += len;
                Some(Self::decode(kind, body))
            }
        }
    }
}
