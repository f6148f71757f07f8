//! The bus file: checking, creating and mapping it, the bus lock, writing frames and
//! reading them back (the format is drawn in the module doc of [`super`]).
//!
//! Everything that touches the mapping is here and goes through atomics: the
//! header's fields are words read and written with atomic loads and stores, the ring
//! is an array of 64-bit words. Nothing read from the file is trusted: the header is
//! checked before the file is mapped, and every record's tag, length and sequence
//! number are checked before a reader uses them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::sys::{self, BusFd, Mapping};
use crate::kern::errno::Errno;

/// The bus magic number: the bytes "RSHM" on a little-endian host.
pub const SHMIF_MAGIC: u32 = 0x4d48_5352;
/// The bus format version this code reads and writes.
pub const SHMIF_VERSION: u32 = 2;
/// Bytes before the ring: the header page.
pub const SHMIF_HDR_SIZE: u32 = 4096;
/// Ring size of a bus this code creates.
pub const SHMIF_DEFAULT_RING: u32 = 1 << 20;
/// Smallest ring a bus may have.
pub const SHMIF_MIN_RING: u32 = 64 << 10;
/// Largest ring a bus may have.
pub const SHMIF_MAX_RING: u32 = 256 << 20;
/// Longest Ethernet frame on a bus: jumbo MTU 9000 plus the 14-byte header, no FCS.
pub const SHMIF_MAX_FRAME: usize = 9000 + ETHER_HDR_LEN;
/// Shortest frame: an Ethernet header.
pub const ETHER_HDR_LEN: usize = 14;
/// Bytes of a record's header in the ring.
pub const SHMIF_REC_HDR: u64 = 40;
/// Slots of the member table.
pub const SHMIF_MEMBER_SLOTS: usize = 64;

/// Byte offsets of the header fields (see the table in the module doc of [`super`]).
pub mod field {
    /// u32: [`super::SHMIF_MAGIC`].
    pub const MAGIC: usize = 0;
    /// u32: [`super::SHMIF_VERSION`].
    pub const VERSION: usize = 4;
    /// u32: [`super::SHMIF_HDR_SIZE`].
    pub const HDR_SIZE: usize = 8;
    /// u32: ring size in bytes.
    pub const RING_SIZE: usize = 12;
    /// u32: [`super::SHMIF_MAX_FRAME`].
    pub const MAX_FRAME: usize = 16;
    /// u32: the bus lock: 0 free, else the holder's process id.
    pub const LOCK: usize = 20;
    /// u32: the futex word, bumped after every frame.
    pub const WAKE: usize = 24;
    /// u32: bus locks taken over from dead holders, ever.
    pub const RECOVERIES: usize = 28;
    /// u64: position where the next record goes.
    pub const HEAD: usize = 32;
    /// u64: position of the oldest valid record.
    pub const FIRST: usize = 40;
    /// u64: sequence number of the next frame (frames ever sent).
    pub const NEXT_SEQ: usize = 48;
    /// u64: wall-clock creation time, ns since the epoch.
    pub const CREATED: usize = 56;
    /// u64: records writers found impossible and skipped, ever.
    pub const BAD_RECORDS: usize = 64;
    /// u32: readers asleep on the futex word (or about to be): writers make the
    /// wake-up system call only when this is not 0.
    pub const SLEEPERS: usize = 72;
    /// u32: interfaces of processes that found the member table full (not checked for
    /// liveness: a crashed one stays counted).
    pub const UNCOUNTED: usize = 76;
    /// u64 × 64: the member table, `pid << 32 | interfaces`.
    pub const MEMBERS: usize = 128;
}

/// Why a file is not a bus. Every case is `EFTYPE` ("Inappropriate file type or
/// format"); the text says which check failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotABus {
    /// Shorter than its header says (or than a header).
    Truncated {
        /// The file's length.
        len: u64,
        /// The length its header implies (or the header's).
        want: u64,
    },
    /// Longer than header plus ring.
    WrongSize {
        /// The file's length.
        len: u64,
        /// Header plus ring.
        want: u64,
    },
    /// The magic number is not ours.
    BadMagic(u32),
    /// Our magic in the other byte order: a bus of a host of the other endianness.
    ForeignByteOrder,
    /// A version this code does not speak.
    BadVersion(u32),
    /// Header size, ring size or frame limit out of range.
    BadGeometry(&'static str, u32),
    /// Exists but was never initialised (read-only opens do not initialise).
    Uninitialised,
}

impl fmt::Display for NotABus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotABus::Truncated { len, want } => {
                write!(f, "truncated: {len} bytes, a bus of this header has {want}")
            }
            NotABus::WrongSize { len, want } => {
                write!(f, "wrong size: {len} bytes, its header says {want}")
            }
            NotABus::BadMagic(m) => write!(
                f,
                "bad magic number {m:#010x} (a shmif bus has {SHMIF_MAGIC:#010x})"
            ),
            NotABus::ForeignByteOrder => f.write_str("a bus of the other byte order"),
            NotABus::BadVersion(v) => write!(
                f,
                "bus format version {v}, this program speaks version {SHMIF_VERSION}"
            ),
            NotABus::BadGeometry(what, v) => write!(f, "impossible {what} {v}"),
            NotABus::Uninitialised => f.write_str("empty: no bus was ever created in it"),
        }
    }
}

/// Why a bus could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusError {
    /// A host error (open, flock, ftruncate, mmap), in NetBSD numbers.
    Host(Errno),
    /// The file is not a bus.
    NotABus(NotABus),
}

impl BusError {
    /// The errno a kernel gives for it: the host's, or `EFTYPE` for a non-bus.
    pub fn errno(&self) -> Errno {
        match self {
            BusError::Host(e) => *e,
            BusError::NotABus(_) => Errno::EFTYPE,
        }
    }
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::Host(e) => write!(f, "{e} ({})", e.name()),
            BusError::NotABus(n) => write!(f, "not a shmif bus: {n}"),
        }
    }
}

impl std::error::Error for BusError {}

impl From<Errno> for BusError {
    fn from(e: Errno) -> Self {
        BusError::Host(e)
    }
}

impl From<BusError> for Errno {
    fn from(e: BusError) -> Self {
        e.errno()
    }
}

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

/// Check a header read from a file of `len` bytes (`b` holds the file's first bytes,
/// at most a header page); on success the ring size.
///
/// # Errors
/// Why it is not a bus.
pub fn check_header(b: &[u8], len: u64) -> Result<u32, NotABus> {
    let hdr = u64::from(SHMIF_HDR_SIZE);
    if b.len() < 8 {
        return Err(NotABus::Truncated { len, want: hdr });
    }
    let magic = get32(b, field::MAGIC);
    if magic != SHMIF_MAGIC {
        if magic == 0 && b.iter().all(|&x| x == 0) {
            return Err(NotABus::Uninitialised);
        }
        if magic.swap_bytes() == SHMIF_MAGIC {
            return Err(NotABus::ForeignByteOrder);
        }
        return Err(NotABus::BadMagic(magic));
    }
    let version = get32(b, field::VERSION);
    if version != SHMIF_VERSION {
        return Err(NotABus::BadVersion(version));
    }
    if len < hdr || (b.len() as u64) < hdr {
        return Err(NotABus::Truncated { len, want: hdr });
    }
    let hdr_size = get32(b, field::HDR_SIZE);
    if hdr_size != SHMIF_HDR_SIZE {
        return Err(NotABus::BadGeometry("header size", hdr_size));
    }
    let ring = get32(b, field::RING_SIZE);
    if ring & 7 != 0 || !(SHMIF_MIN_RING..=SHMIF_MAX_RING).contains(&ring) {
        return Err(NotABus::BadGeometry("ring size", ring));
    }
    let max_frame = get32(b, field::MAX_FRAME);
    if max_frame as usize != SHMIF_MAX_FRAME {
        return Err(NotABus::BadGeometry("frame limit", max_frame));
    }
    let want = hdr + u64::from(ring);
    if len < want {
        return Err(NotABus::Truncated { len, want });
    }
    if len > want {
        return Err(NotABus::WrongSize { len, want });
    }
    Ok(ring)
}

/// A fresh header for a ring of `ring` bytes created at `now_ns`.
fn new_header(ring: u32, now_ns: u64) -> Vec<u8> {
    let mut b = vec![0u8; SHMIF_HDR_SIZE as usize];
    let mut put32 = |off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    put32(field::MAGIC, SHMIF_MAGIC);
    put32(field::VERSION, SHMIF_VERSION);
    put32(field::HDR_SIZE, SHMIF_HDR_SIZE);
    put32(field::RING_SIZE, ring);
    put32(field::MAX_FRAME, SHMIF_MAX_FRAME as u32);
    b[field::CREATED..field::CREATED + 8].copy_from_slice(&now_ns.to_ne_bytes());
    b
}

/// Bytes a record of a `len`-byte frame takes in the ring.
pub fn record_size(len: usize) -> u64 {
    SHMIF_REC_HDR + (len as u64).div_ceil(8) * 8
}

/// A snapshot of a bus header's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusInfo {
    /// Format version.
    pub version: u32,
    /// Ring size in bytes.
    pub ring_size: u32,
    /// Position where the next record goes.
    pub head: u64,
    /// Position of the oldest valid record.
    pub first: u64,
    /// Frames ever sent on the bus.
    pub frames: u64,
    /// Bus locks taken over from dead holders, ever.
    pub lock_recoveries: u32,
    /// Records writers found impossible and skipped, ever.
    pub bad_records: u64,
    /// The lock word now: 0 free, else the holder's pid.
    pub lock_holder: u32,
    /// Creation time, ns since the epoch.
    pub created_ns: u64,
    /// Processes in the member table that are alive, with their interface counts.
    pub members: Vec<(u32, u32)>,
    /// Interfaces of processes beyond the member table.
    pub uncounted: u32,
}

/// What sending a frame took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendInfo {
    /// The frame's sequence number.
    pub seq: u64,
    /// The bus lock was taken over from a dead holder.
    pub recovered: bool,
    /// Records found impossible (and skipped) while making room.
    pub bad_records: u64,
}

/// One mapped bus.
pub struct Bus {
    map: Mapping,
    path: PathBuf,
    ring_size: u32,
    /// Ring size in 64-bit words.
    nwords: u64,
    /// This process's id, read once: the bus lock's value while we hold it. (A forked
    /// child has none of the kernel's threads, so it cannot use the bus anyway.)
    pid: u32,
    /// This process's interfaces counted in the header's UNCOUNTED.
    uncounted_here: AtomicU32,
    writable: bool,
}

/// How long a waiter for the bus lock lets a holder keep it before asking whether the
/// holder is alive, and how often it asks again.
const LOCK_PATIENCE: Duration = Duration::from_millis(2);

impl Bus {
    /// Open the bus at `path` for reading and writing, creating it with the default
    /// ring when it is missing (or empty).
    ///
    /// # Errors
    /// [`BusError::NotABus`] (`EFTYPE`) when the file is something else; host errors.
    pub fn open(path: &Path) -> Result<Arc<Bus>, BusError> {
        Bus::create(path, SHMIF_DEFAULT_RING)
    }

    /// Open the bus at `path` for reading and writing, creating it with a ring of
    /// `ring_size` bytes when it is missing or empty. An existing bus keeps its ring.
    ///
    /// Racing creators serialise on flock(2) of the file: the first one sizes it and
    /// writes the header, the others find a bus. A file left empty (or zero-filled) by
    /// a creator that died is initialised again.
    ///
    /// # Errors
    /// `EINVAL` for a ring size out of range; else as [`Bus::open`].
    pub fn create(path: &Path, ring_size: u32) -> Result<Arc<Bus>, BusError> {
        if ring_size & 7 != 0 || !(SHMIF_MIN_RING..=SHMIF_MAX_RING).contains(&ring_size) {
            return Err(BusError::Host(Errno::EINVAL));
        }
        let fd = BusFd::open(path, /* writable */ true, /* create */ true)?;
        fd.flock(/* exclusive */ true)?;
        let r = Bus::init_or_check(&fd, ring_size);
        fd.funlock();
        let ring = r?;
        Bus::map(&fd, path, ring, /* writable */ true)
    }

    /// Open an existing bus read-only: never creates, initialises or writes it (the
    /// dump tool's way in). Readers work as usual; sending fails with `EROFS`.
    ///
    /// # Errors
    /// `ENOENT` for a missing file, [`BusError::NotABus`] for anything but a bus.
    pub fn open_readonly(path: &Path) -> Result<Arc<Bus>, BusError> {
        let fd = BusFd::open(path, /* writable */ false, /* create */ false)?;
        fd.flock(/* exclusive */ false)?;
        let r = Bus::check(&fd);
        fd.funlock();
        let ring = r?;
        Bus::map(&fd, path, ring, /* writable */ false)
    }

    fn check(fd: &BusFd) -> Result<u32, BusError> {
        let len = fd.len()?;
        let mut b = vec![0u8; SHMIF_HDR_SIZE as usize];
        let n = fd.read_at(&mut b, 0)?;
        b.truncate(n);
        check_header(&b, len).map_err(BusError::NotABus)
    }

    fn init_or_check(fd: &BusFd, ring_size: u32) -> Result<u32, BusError> {
        match Bus::check(fd) {
            Err(BusError::NotABus(NotABus::Uninitialised | NotABus::Truncated { len: 0, .. })) => {
                let total = u64::from(SHMIF_HDR_SIZE) + u64::from(ring_size);
                // Zero the old contents (a dead creator's), then size, then header.
                fd.set_len(0)?;
                fd.set_len(total)?;
                fd.write_all_at(&new_header(ring_size, sys::wall_clock_ns()), 0)?;
                Ok(ring_size)
            }
            r => r,
        }
    }

    fn map(fd: &BusFd, path: &Path, ring: u32, writable: bool) -> Result<Arc<Bus>, BusError> {
        let len = SHMIF_HDR_SIZE as usize + ring as usize;
        let map = Mapping::new(fd, len, writable)?;
        Ok(Arc::new(Bus {
            map,
            path: path.to_path_buf(),
            ring_size: ring,
            nwords: u64::from(ring) / 8,
            pid: sys::getpid(),
            uncounted_here: AtomicU32::new(0),
            writable,
        }))
    }

    /// The file this bus lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ring size in bytes.
    pub fn ring_size(&self) -> u32 {
        self.ring_size
    }

    /// Whether this mapping may send.
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn u32f(&self, off: usize) -> &AtomicU32 {
        &self.map.words32()[off / 4]
    }

    fn u64f(&self, off: usize) -> &AtomicU64 {
        &self.map.words64()[off / 8]
    }

    /// The ring word at monotonic position `pos` (a multiple of 8).
    fn rw(&self, pos: u64) -> &AtomicU64 {
        let i = (pos / 8) % self.nwords;
        &self.map.words64()[SHMIF_HDR_SIZE as usize / 8 + i as usize]
    }

    /// The ring's words from position `pos` (8-aligned) on, as two slices: up to the
    /// ring's end, then from its start (at most `words` in all).
    fn ring_span(&self, pos: u64, words: usize) -> (&[AtomicU64], &[AtomicU64]) {
        let ring = &self.map.words64()[SHMIF_HDR_SIZE as usize / 8..][..self.nwords as usize];
        let i = ((pos / 8) % self.nwords) as usize;
        let (wrapped, tail) = ring.split_at(i);
        let first = words.min(tail.len());
        (
            &tail[..first],
            &wrapped[..(words - first).min(wrapped.len())],
        )
    }

    /// Store `bytes` into the ring from position `pos` (8-aligned), a word at a time,
    /// wrapping at the ring's end; the loops run over slices (no index math per word).
    fn write_ring(&self, pos: u64, bytes: &[u8]) {
        let (a, b) = self.ring_span(pos, bytes.len().div_ceil(8));
        let mut src = bytes.chunks(8);
        for (w, c) in a.iter().chain(b).zip(&mut src) {
            let v = match <[u8; 8]>::try_from(c) {
                Ok(full) => u64::from_ne_bytes(full),
                Err(_) => {
                    let mut last = [0u8; 8];
                    last[..c.len()].copy_from_slice(c);
                    u64::from_ne_bytes(last)
                }
            };
            w.store(v, Ordering::Relaxed);
        }
    }

    /// Append `len` bytes of the ring from position `pos` (8-aligned) to `buf`, a word
    /// at a time, wrapping at the ring's end.
    fn read_ring(&self, pos: u64, len: usize, buf: &mut Vec<u8>) {
        let (a, b) = self.ring_span(pos, len.div_ceil(8));
        let start = buf.len();
        buf.resize(start + len.div_ceil(8) * 8, 0);
        for (w, dst) in a.iter().chain(b).zip(buf[start..].chunks_exact_mut(8)) {
            dst.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        buf.truncate(start + len);
    }

    /// A snapshot of the header.
    pub fn info(&self) -> BusInfo {
        BusInfo {
            version: self.u32f(field::VERSION).load(Ordering::Relaxed),
            ring_size: self.ring_size,
            head: self.u64f(field::HEAD).load(Ordering::Acquire),
            first: self.u64f(field::FIRST).load(Ordering::Acquire),
            frames: self.u64f(field::NEXT_SEQ).load(Ordering::Acquire),
            lock_recoveries: self.u32f(field::RECOVERIES).load(Ordering::Relaxed),
            bad_records: self.u64f(field::BAD_RECORDS).load(Ordering::Relaxed),
            lock_holder: self.u32f(field::LOCK).load(Ordering::Relaxed),
            created_ns: self.u64f(field::CREATED).load(Ordering::Relaxed),
            members: self.members(),
            uncounted: self.uncounted_members(),
        }
    }

    /// The futex word's value now (see [`Bus::wait_change`]).
    pub fn wake_seq(&self) -> u32 {
        self.u32f(field::WAKE).load(Ordering::SeqCst)
    }

    /// Sleep until the futex word differs from `seen`, a wakeup comes or `timeout`
    /// passes; never spins.
    pub fn wait_change(&self, seen: u32, timeout: Duration) {
        // Announce the sleep before the futex checks the word: a writer that bumps
        // the word after this sees the count and wakes us; one that bumped it before
        // makes the futex return at once (all SeqCst, against `send`).
        // A read-only mapping (an observer such as shmif_dumpbus -f) cannot announce
        // itself; it sleeps until its timeout unless someone else's wake-up comes.
        if !self.writable {
            sys::futex_wait(self.u32f(field::WAKE), seen, timeout);
            return;
        }
        let sleepers = self.u32f(field::SLEEPERS);
        sleepers.fetch_add(1, Ordering::SeqCst);
        sys::futex_wait(self.u32f(field::WAKE), seen, timeout);
        sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Wake every reader of the bus in every process (they look for frames and go
    /// back to sleep): how a halting interface kicks its own receive thread.
    pub fn wake_all(&self) {
        sys::futex_wake(self.u32f(field::WAKE));
    }

    /// Take the bus lock. A holder that keeps it longer than [`LOCK_PATIENCE`] is
    /// asked whether it still lives (kill(pid, 0) and /proc); a dead one's lock is
    /// taken over and counted in the header.
    fn lock(&self) -> BusLock<'_> {
        let me = self.pid;
        let word = self.u32f(field::LOCK);
        let mut round = 0u32;
        let mut checked = None;
        loop {
            let holder = match word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    return BusLock {
                        word,
                        recovered: false,
                    }
                }
                Err(h) => h,
            };
            round += 1;
            if round <= 64 {
                std::hint::spin_loop();
                continue;
            }
            let now = sys::monotonic();
            let last = *checked.get_or_insert(now);
            if holder != me && now.duration_since(last) >= LOCK_PATIENCE {
                checked = Some(now);
                if !sys::process_alive(holder)
                    && word
                        .compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    self.u32f(field::RECOVERIES).fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(bus = %self.path.display(), dead = holder, "shmif: took over the bus lock of a dead process");
                    return BusLock {
                        word,
                        recovered: true,
                    };
                }
            }
            sys::backoff(round - 64);
        }
    }

    /// A record's frame length if a valid record starts at `pos` and ends by `head`.
    fn record_at(&self, pos: u64, head: u64) -> Option<usize> {
        if self.rw(pos).load(Ordering::Relaxed) != pos {
            return None;
        }
        let len = (self.rw(pos + 16).load(Ordering::Relaxed) & 0xffff_ffff) as usize;
        ((ETHER_HDR_LEN..=SHMIF_MAX_FRAME).contains(&len) && pos + record_size(len) <= head)
            .then_some(len)
    }

    /// The first position after `from` where a valid record starts, or `head`: how
    /// readers and writers get past a record they cannot trust. A record's first word
    /// is its own position, so a match is a record (or very unlikely data).
    fn scan_valid(&self, from: u64, head: u64) -> u64 {
        let mut p = from;
        while p < head {
            if self.record_at(p, head).is_some() {
                return p;
            }
            p += 8;
        }
        head
    }

    /// Send a frame stamped `time_ns` (wall clock) from sender `sender`: append it to
    /// the ring under the bus lock, overwriting the oldest records when the ring is
    /// full, then wake the readers. Does not block apart from the bus lock.
    ///
    /// # Errors
    /// `EROFS` on a read-only mapping, `EMSGSIZE` for a frame longer than
    /// [`SHMIF_MAX_FRAME`], `EINVAL` for one shorter than an Ethernet header.
    pub fn send(&self, sender: u64, time_ns: u64, frame: &[u8]) -> Result<SendInfo, Errno> {
        if !self.writable {
            return Err(Errno::EROFS);
        }
        if frame.len() > SHMIF_MAX_FRAME {
            return Err(Errno::EMSGSIZE);
        }
        if frame.len() < ETHER_HDR_LEN {
            return Err(Errno::EINVAL);
        }
        let ring = u64::from(self.ring_size);
        let rec = record_size(frame.len());
        let lock = self.lock();
        let mut info = SendInfo {
            recovered: lock.recovered,
            ..SendInfo::default()
        };
        let head = self.u64f(field::HEAD).load(Ordering::Relaxed);
        let old_first = self.u64f(field::FIRST).load(Ordering::Relaxed);
        let mut first = old_first;
        if first > head || head - first > ring || (head | first) & 7 != 0 {
            // A header nobody could have written: forget the ring's contents.
            info.bad_records += 1;
            first = head - head % 8;
        }
        let head = head - head % 8;
        // Make room: every record that [head, head + rec) overwrites stops being valid
        // before a byte of it changes.
        let need = (head + rec).saturating_sub(ring);
        while first < need {
            if first >= head {
                first = head;
                break;
            }
            match self.record_at(first, head) {
                Some(len) => first += record_size(len),
                None => {
                    info.bad_records += 1;
                    first = self.scan_valid(first + 8, head);
                }
            }
        }
        if first != old_first {
            self.u64f(field::FIRST).store(first, Ordering::Relaxed);
        }
        // Readers that see any word below come to see FIRST's new value after their
        // acquire fence (the seqlock's release side).
        fence(Ordering::Release);
        let seq = self.u64f(field::NEXT_SEQ).load(Ordering::Relaxed);
        let hdr = [head, seq, frame.len() as u64, sender, time_ns];
        for (i, w) in hdr.iter().enumerate() {
            self.rw(head + 8 * i as u64).store(*w, Ordering::Relaxed);
        }
        self.write_ring(head + SHMIF_REC_HDR, frame);
        self.u64f(field::NEXT_SEQ).store(seq + 1, Ordering::Release);
        self.u64f(field::HEAD).store(head + rec, Ordering::SeqCst);
        if info.bad_records > 0 {
            self.u64f(field::BAD_RECORDS)
                .fetch_add(info.bad_records, Ordering::Relaxed);
        }
        drop(lock);
        self.u32f(field::WAKE).fetch_add(1, Ordering::SeqCst);
        if self.u32f(field::SLEEPERS).load(Ordering::SeqCst) != 0 {
            sys::futex_wake(self.u32f(field::WAKE));
        }
        info.seq = seq;
        Ok(info)
    }

    /// A reader at the end of the bus: it sees the frames sent from now on.
    pub fn reader_at_end(self: &Arc<Self>) -> BusReader {
        let pos = self.u64f(field::HEAD).load(Ordering::Acquire);
        BusReader::new(self.clone(), pos)
    }

    /// A reader at the oldest frame still on the bus.
    pub fn reader_from_oldest(self: &Arc<Self>) -> BusReader {
        let pos = self.u64f(field::FIRST).load(Ordering::Acquire);
        BusReader::new(self.clone(), pos)
    }

    /// Count this process in the member table (once per interface).
    pub(super) fn join(&self) {
        if !self.writable {
            return;
        }
        let me = u64::from(sys::getpid());
        let slots = &self.map.words64()[field::MEMBERS / 8..][..SHMIF_MEMBER_SLOTS];
        for _ in 0..4 {
            // Our slot, if we have one.
            for s in slots {
                let v = s.load(Ordering::Relaxed);
                if v >> 32 == me
                    && s.compare_exchange(v, v + 1, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    return;
                }
            }
            // A free slot, or a dead process's.
            for s in slots {
                let v = s.load(Ordering::Relaxed);
                let free = v == 0 || !sys::process_alive((v >> 32) as u32);
                if free
                    && s.compare_exchange(v, me << 32 | 1, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    return;
                }
            }
        }
        // More than SHMIF_MEMBER_SLOTS processes: counted in bulk, without a pid.
        self.u32f(field::UNCOUNTED).fetch_add(1, Ordering::AcqRel);
        self.uncounted_here.fetch_add(1, Ordering::Relaxed);
    }

    /// Undo one [`Bus::join`].
    pub(super) fn leave(&self) {
        if !self.writable {
            return;
        }
        // An interface counted in bulk leaves from there first.
        let here = &self.uncounted_here;
        if here
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            let _ = self.u32f(field::UNCOUNTED).fetch_update(
                Ordering::AcqRel,
                Ordering::Relaxed,
                |n| n.checked_sub(1),
            );
            return;
        }
        let me = u64::from(sys::getpid());
        for s in &self.map.words64()[field::MEMBERS / 8..][..SHMIF_MEMBER_SLOTS] {
            let mut v = s.load(Ordering::Relaxed);
            while v >> 32 == me {
                let new = if v & 0xffff_ffff <= 1 { 0 } else { v - 1 };
                match s.compare_exchange(v, new, Ordering::AcqRel, Ordering::Relaxed) {
                    Ok(_) => return,
                    Err(cur) => v = cur,
                }
            }
        }
    }

    /// Interfaces of processes beyond the member table (see [`field::UNCOUNTED`]).
    pub fn uncounted_members(&self) -> u32 {
        self.u32f(field::UNCOUNTED).load(Ordering::Acquire)
    }

    /// The live processes in the member table: (pid, interfaces).
    pub fn members(&self) -> Vec<(u32, u32)> {
        self.map.words64()[field::MEMBERS / 8..][..SHMIF_MEMBER_SLOTS]
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .filter(|&v| v != 0)
            .map(|v| ((v >> 32) as u32, (v & 0xffff_ffff) as u32))
            .filter(|&(pid, _)| sys::process_alive(pid))
            .collect()
    }
}

/// The bus lock, held; released on drop.
struct BusLock<'a> {
    word: &'a AtomicU32,
    recovered: bool,
}

impl Drop for BusLock<'_> {
    fn drop(&mut self) {
        self.word.store(0, Ordering::Release);
    }
}

/// What a reader has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Frames read.
    pub frames: u64,
    /// Frames overwritten before the reader got to them (it fell a ring behind).
    pub lost: u64,
    /// Records with an impossible header, dropped.
    pub bad: u64,
}

/// One frame's record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The frame's sequence number on the bus.
    pub seq: u64,
    /// The sending interface's id.
    pub sender: u64,
    /// When it was sent, ns since the epoch (the sender's wall clock).
    pub time_ns: u64,
    /// Frame length.
    pub len: usize,
}

/// A frame read from a bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusFrame {
    /// Its record header.
    pub info: FrameInfo,
    /// The Ethernet frame.
    pub data: Vec<u8>,
}

/// A reader of a bus: its own position in the ring, lock-free. Iterating yields the
/// frames on the bus up to its current end.
pub struct BusReader {
    bus: Arc<Bus>,
    pos: u64,
    /// The sequence number the next record should carry (None: not known yet).
    expect: Option<u64>,
    /// Bad records since the last good one (their frames are not counted as lost).
    pending_bad: u64,
    stats: ReaderStats,
    /// Frames of this sender come back with their header only (an interface's own).
    skip_sender: Option<u64>,
}

impl BusReader {
    fn new(bus: Arc<Bus>, pos: u64) -> BusReader {
        BusReader {
            bus,
            pos: pos - pos % 8,
            expect: None,
            pending_bad: 0,
            skip_sender: None,
            stats: ReaderStats::default(),
        }
    }

    /// The bus.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// What this reader has seen.
    pub fn stats(&self) -> ReaderStats {
        self.stats
    }

    /// Return the frames of `sender` (an interface's own) without copying their bytes:
    /// `next_into` gives their [`FrameInfo`] and an empty buffer.
    pub fn skip_payload_of(&mut self, sender: u64) {
        self.skip_sender = Some(sender);
    }

    /// The monotonic position of the next record to read (its ring offset is this
    /// modulo the ring size).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Read the next frame into `buf` (replacing its contents); `None` when the reader
    /// is at the end of the bus. A reader that fell more than a ring behind resyncs to
    /// the oldest valid record and counts what it missed in `lost`; a record whose
    /// header is impossible is skipped and counted in `bad`. A frame is returned only
    /// when the bus shows it was not overwritten while it was copied (a seqlock).
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<FrameInfo> {
        let b = &*self.bus;
        loop {
            // FIRST before HEAD: every writer keeps first <= head, so the pair is
            // ordered unless the header is damaged.
            let first = b.u64f(field::FIRST).load(Ordering::Acquire);
            let head = b.u64f(field::HEAD).load(Ordering::SeqCst);
            if self.pos == head {
                return None;
            }
            if first > head {
                // A header no writer leaves behind; the next writer repairs it.
                return None;
            }
            if self.pos < first {
                // Lapped: the records from here to `first` are gone.
                self.pos = first - first % 8;
                continue;
            }
            if self.pos > head {
                // The bus moved backwards under us: start over at the oldest record.
                self.stats.bad += 1;
                self.pos = first - first % 8;
                self.expect = None;
                continue;
            }
            let pos = self.pos;
            let tag = b.rw(pos).load(Ordering::Relaxed);
            let seq = b.rw(pos + 8).load(Ordering::Relaxed);
            let len = (b.rw(pos + 16).load(Ordering::Relaxed) & 0xffff_ffff) as usize;
            let sender = b.rw(pos + 24).load(Ordering::Relaxed);
            let time_ns = b.rw(pos + 32).load(Ordering::Relaxed);
            let ok = tag == pos
                && (ETHER_HDR_LEN..=SHMIF_MAX_FRAME).contains(&len)
                && pos + record_size(len) <= head
                && self.expect.is_none_or(|e| seq >= e);
            buf.clear();
            // A frame of the sender this reader skips is validated but not copied.
            if ok && self.skip_sender != Some(sender) {
                b.read_ring(pos + SHMIF_REC_HDR, len, buf);
            }
            // The seqlock's read side: was any of it overwritten while we looked?
            fence(Ordering::Acquire);
            if b.u64f(field::FIRST).load(Ordering::Relaxed) > pos {
                continue;
            }
            if !ok {
                self.stats.bad += 1;
                self.pending_bad += 1;
                self.pos = b.scan_valid(pos + 8, head);
                continue;
            }
            if let Some(e) = self.expect {
                self.stats.lost += (seq - e).saturating_sub(self.pending_bad);
            }
            self.pending_bad = 0;
            self.expect = Some(seq + 1);
            self.pos = pos + record_size(len);
            self.stats.frames += 1;
            return Some(FrameInfo {
                seq,
                sender,
                time_ns,
                len,
            });
        }
    }

    /// Sleep until the bus may have a frame for this reader, or `timeout` passes.
    /// Returns at once when it has one. Never spins: a futex wait on the header's
    /// wake word, which every writer bumps and wakes after each frame.
    pub fn wait(&self, timeout: Duration) {
        let seen = self.bus.wake_seq();
        if self.bus.u64f(field::HEAD).load(Ordering::SeqCst) != self.pos {
            return;
        }
        self.bus.wait_change(seen, timeout);
    }
}

impl Iterator for BusReader {
    type Item = BusFrame;

    /// The next frame, `None` at the end of the bus (a later call may find more).
    fn next(&mut self) -> Option<BusFrame> {
        let mut data = Vec::new();
        let info = self.next_into(&mut data)?;
        Some(BusFrame { info, data })
    }
}

#[cfg(test)]
#[path = "bus_tests.rs"]
mod tests;
