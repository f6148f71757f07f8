//! IPv4 options (RFC 791 section 3.1): a walker that finds where each option lies.
//!
//! An option is one byte (EOL, NOP) or type, length, value, where the length counts the
//! type and length bytes. The walker checks only that: a length of at least 2 that stays
//! inside the options area. It does not interpret source routes, record route or
//! timestamps; ip input may skip them or answer with a parameter problem pointing at
//! [`Ipv4OptionsIter::offset`] plus [`super::HEADER_LEN`].

use crate::wire::WireError;

/// End of option list (RFC 791).
pub const IPOPT_EOL: u8 = 0;
/// No operation: one byte of padding between options.
pub const IPOPT_NOP: u8 = 1;
/// Record route.
pub const IPOPT_RR: u8 = 7;
/// Timestamp.
pub const IPOPT_TS: u8 = 68;
/// Basic security (RFC 1108).
pub const IPOPT_SECURITY: u8 = 130;
/// Loose source and record route.
pub const IPOPT_LSRR: u8 = 131;
/// Strict source and record route.
pub const IPOPT_SSRR: u8 = 137;
/// Router alert (RFC 2113).
pub const IPOPT_RA: u8 = 148;

/// One option of an IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// Where the option starts, counted from the first options byte (add
    /// [`super::HEADER_LEN`] for the ICMP parameter-problem pointer).
    pub offset: usize,
    /// The option type ([`IPOPT_EOL`], [`IPOPT_NOP`], [`IPOPT_RA`], ...).
    pub kind: u8,
    /// The bytes after the type and length octets; empty for EOL and NOP.
    pub data: &'a [u8],
}

impl Ipv4Option<'_> {
    /// Whether fragments copy this option (the high bit of the type; ip_optcopy).
    pub const fn is_copied(&self) -> bool {
        self.kind & 0x80 != 0
    }

    /// The bytes the option takes in the header.
    pub const fn len(&self) -> usize {
        match self.kind {
            IPOPT_EOL | IPOPT_NOP => 1,
            _ => self.data.len() + 2,
        }
    }

    /// Never true: an option takes at least its type byte.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// A walker over the options bytes of a header (NetBSD: ip_dooptions' loop, without the
/// interpreting). Yields each option, EOL included (after which it stops: the rest is
/// padding); yields one [`WireError::BadOption`] and stops at a type-length option whose
/// length byte is missing, below 2, or runs past the end.
#[derive(Debug, Clone)]
pub struct Ipv4OptionsIter<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Ipv4OptionsIter<'a> {
    /// A walker over `options` (the bytes after the fixed header).
    pub const fn new(options: &'a [u8]) -> Self {
        Ipv4OptionsIter {
            data: options,
            pos: 0,
            done: false,
        }
    }

    /// The offset of the next option; after an error, of the bad option.
    pub const fn offset(&self) -> usize {
        self.pos
    }

    /// Walks all options.
    ///
    /// # Errors
    ///
    /// [`WireError::BadOption`] at the first bad option length.
    pub fn check(options: &[u8]) -> Result<(), WireError> {
        Ipv4OptionsIter::new(options).try_for_each(|o| o.map(|_| ()))
    }
}

impl<'a> Iterator for Ipv4OptionsIter<'a> {
    type Item = Result<Ipv4Option<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.pos;
        let Some(&kind) = self.data.get(offset) else {
            self.done = true;
            return None;
        };
        let data: &'a [u8] = match kind {
            IPOPT_EOL => {
                self.done = true;
                &[]
            }
            IPOPT_NOP => {
                self.pos += 1;
                &[]
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
                body
            }
        };
        Some(Ok(Ipv4Option { offset, kind, data }))
    }
}
