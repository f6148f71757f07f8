//! Packet buffers: mbufs and mbuf chains with their clusters taken from a pool (NetBSD:
//! uipc_mbuf.c; the paper's future work, "allocate mbufs and clusters from pools").
//!
//! Every [`Mbuf`] owns one cluster of [`MCLBYTES`] bytes from an [`MbufPool`] and a
//! window `[off, off + len)` into it: the bytes before the window are headroom for
//! protocol headers ([`Mbuf::prepend`], NetBSD's M_PREPEND), the bytes after it are
//! trailing space for appends. Dropping an `Mbuf` returns its cluster to the pool.
//!
//! # The pool
//!
//! The pool plays `nmbclusters`: at most `limit` clusters are outstanding at once, and a
//! request beyond that fails with `ENOBUFS` and is counted in [`MbufStats::drops`], as a
//! kernel's `M_DONTWAIT` allocation does. Freed clusters are cached (at most `limit` of
//! them) and handed out again, last freed first, so a steady packet flow allocates
//! nothing. The free list sits behind one `parking_lot::Mutex`, taken once per get and
//! once per put and never held while allocating or freeing memory; it is a leaf lock
//! (nothing is locked while it is held), so it needs no place in the kernel's lock order.
//! Recycled clusters are not cleared; the only way to grow an mbuf's window without
//! writing it is `prepend`, which zeroes what it exposes, so no old packet shows through.
//!
//! # Chains
//!
//! An [`MbufChain`] is a packet or a socket buffer's contents: a sequence of mbufs plus
//! its total length, kept equal to the sum of the mbufs' lengths (the chain never hands
//! out an `&mut Mbuf`, so nothing can change a length behind its back). Most packets are
//! one to three mbufs, so a chain keeps up to three of them (`INLINE_MBUFS`) in place and
//! moves them to a heap `VecDeque` only when it grows longer (a socket buffer, a large
//! datagram); a packet then costs no allocation besides its clusters. A chain whose heap
//! storage empties goes back to inline storage. A chain may contain
//! empty mbufs, for example a first mbuf that holds only headroom; every operation
//! copes with them. Chain operations that need new clusters either complete or leave
//! the chain as it was, so an `ENOBUFS` never leaks a cluster or half a packet.
//!
//! # Panic freedom
//!
//! Every index is bounded by `off + len <= MCLBYTES`, which each method keeps; lengths
//! passed in are clamped, never trusted. The one documented panic is
//! [`Mbuf::reserve_headroom`] on an mbuf that already holds data.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::kern::errno::Errno;

/// Cluster size: the storage behind every mbuf (NetBSD: MCLBYTES).
pub const MCLBYTES: usize = 2048;

/// The storage behind one mbuf.
type Cluster = [u8; MCLBYTES];

// An mbuf keeps its window in u32s.
const _: () = assert!(MCLBYTES <= u32::MAX as usize);

/// Most free clusters a pool keeps for reuse (16 MiB); beyond that they go back to the
/// host allocator, so a burst does not pin its peak memory for good.
pub const MAX_CACHED: usize = 8192;

/// Default headroom reserved for protocol headers (NetBSD: max_hdr).
pub const MAX_HDR: usize = 128;

/// Mbufs a chain holds without a heap allocation.
const INLINE_MBUFS: usize = 3;

// An inline list counts its mbufs in a u8.
const _: () = assert!(INLINE_MBUFS <= u8::MAX as usize);

/// A snapshot of a pool's counters (NetBSD: struct mbstat, netstat -m).
#[derive(Clone, Debug, Default)]
pub struct MbufStats {
    /// Clusters ever handed out by the pool.
    pub allocated: u64,
    /// Clusters ever returned to the pool.
    pub freed: u64,
    /// Clusters held by mbufs now.
    pub outstanding: usize,
    /// Free clusters cached for reuse.
    pub cached: usize,
    /// Requests refused with ENOBUFS at the limit.
    pub drops: u64,
    /// Clusters taken beyond the limit by [`MbufChain::split_off_front`], which cannot fail.
    pub overdrafts: u64,
    /// The most clusters outstanding at once (nmbclusters).
    pub limit: usize,
}

/// The mutable part of a pool, behind its lock.
struct PoolState {
    // Each cluster is its own allocation, lent to an mbuf and given back, so it stays boxed.
    #[allow(clippy::vec_box)]
    free: Vec<Box<Cluster>>,
    allocated: u64,
    freed: u64,
    outstanding: usize,
    drops: u64,
    overdrafts: u64,
}

struct PoolInner {
    limit: usize,
    state: Mutex<PoolState>,
}

/// A pool of clusters shared by every mbuf of one kernel; cheap to clone.
#[derive(Clone)]
pub struct MbufPool {
    inner: Arc<PoolInner>,
}

impl MbufPool {
    /// A pool that lets at most `limit_clusters` clusters be outstanding (nmbclusters).
    pub fn new(limit_clusters: usize) -> Self {
        MbufPool {
            inner: Arc::new(PoolInner {
                limit: limit_clusters,
                state: Mutex::new(PoolState {
                    free: Vec::new(),
                    allocated: 0,
                    freed: 0,
                    outstanding: 0,
                    drops: 0,
                    overdrafts: 0,
                }),
            }),
        }
    }

    /// An empty mbuf with a whole cluster of trailing space (NetBSD: m_get + m_clget).
    ///
    /// # Errors
    /// `ENOBUFS` when `limit` clusters are outstanding; the refusal is counted in `drops`.
    pub fn get(&self) -> Result<Mbuf, Errno> {
        self.take(/* overdraft */ false).ok_or(Errno::ENOBUFS)
    }

    /// The pool's counters.
    pub fn stats(&self) -> MbufStats {
        let st = self.inner.state.lock();
        MbufStats {
            allocated: st.allocated,
            freed: st.freed,
            outstanding: st.outstanding,
            cached: st.free.len(),
            drops: st.drops,
            overdrafts: st.overdrafts,
            limit: self.inner.limit,
        }
    }

    /// True if both handles name the same pool.
    pub fn same_pool(&self, other: &MbufPool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Take a cluster; at the limit fail, or with `overdraft` take one anyway.
    fn take(&self, overdraft: bool) -> Option<Mbuf> {
        let cached = {
            let mut st = self.inner.state.lock();
            if st.outstanding >= self.inner.limit {
                if !overdraft {
                    st.drops += 1;
                    return None;
                }
                st.overdrafts += 1;
            }
            st.outstanding += 1;
            st.allocated += 1;
            st.free.pop()
        };
        // A fresh cluster is allocated outside the lock.
        let cluster = cached.unwrap_or_else(|| Box::new([0; MCLBYTES]));
        Some(Mbuf {
            cluster: Some(cluster),
            off: 0,
            len: 0,
            pool: self.clone(),
        })
    }

    /// Give a cluster back: cache it, or free it (outside the lock) if the cache is full.
    fn put(&self, cluster: Box<Cluster>) {
        let excess = {
            let mut st = self.inner.state.lock();
            st.outstanding = st.outstanding.saturating_sub(1);
            st.freed += 1;
            if st.free.len() < self.inner.limit.min(MAX_CACHED) {
                st.free.push(cluster);
                None
            } else {
                Some(cluster)
            }
        };
        drop(excess);
    }
}

impl fmt::Debug for MbufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MbufPool").field(&self.stats()).finish()
    }
}

/// One packet buffer: a pool cluster plus the window of it that holds data (NetBSD: mbuf).
///
/// Chains move by value through every layer, so an mbuf is kept to three words: a thin
/// cluster pointer, the window as two u32s, and the pool.
pub struct Mbuf {
    /// `Some` for the mbuf's whole life; taken only in `drop`.
    cluster: Option<Box<Cluster>>,
    off: u32,
    len: u32,
    pool: MbufPool,
}

impl Mbuf {
    /// The data's place in the cluster, `off..off + len`; within `MCLBYTES`.
    fn window(&self) -> Range<usize> {
        let off = self.off as usize;
        off..off + self.len as usize
    }

    /// Bytes of data.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when the mbuf holds no data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The data (NetBSD: mtod).
    pub fn data(&self) -> &[u8] {
        match &self.cluster {
            Some(c) => &c[self.window()],
            None => &[],
        }
    }

    /// The data, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let w = self.window();
        match &mut self.cluster {
            Some(c) => &mut c[w],
            None => &mut [],
        }
    }

    /// Room before the data (NetBSD: M_LEADINGSPACE).
    pub fn leading_space(&self) -> usize {
        self.off as usize
    }

    /// Room after the data (NetBSD: M_TRAILINGSPACE).
    pub fn trailing_space(&self) -> usize {
        MCLBYTES - self.window().end
    }

    /// Move the start of an empty mbuf `n` bytes in (clamped to the cluster), leaving
    /// headroom for headers (NetBSD: m_align, MH_ALIGN).
    ///
    /// # Panics
    /// If the mbuf holds data: moving the window would lose or garble it.
    pub fn reserve_headroom(&mut self, n: usize) {
        assert!(self.is_empty(), "reserve_headroom on an mbuf with data");
        self.off = n.min(MCLBYTES) as u32;
    }

    /// Grow the data `n` bytes into the headroom and return those bytes, zeroed, for the
    /// caller to fill (NetBSD: M_PREPEND); `None` if the headroom is too small.
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.leading_space() {
            return None;
        }
        let cluster = self.cluster.as_mut()?;
        // n <= off <= MCLBYTES, so the casts are exact.
        self.off -= n as u32;
        self.len += n as u32;
        let off = self.off as usize;
        let hdr = &mut cluster[off..off + n];
        hdr.fill(0);
        Some(hdr)
    }

    /// Copy as much of `src` as fits into the trailing space; returns the bytes copied.
    pub fn append(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.trailing_space());
        let end = self.window().end;
        let Some(cluster) = self.cluster.as_mut() else {
            return 0;
        };
        cluster[end..end + n].copy_from_slice(&src[..n]);
        self.len += n as u32;
        n
    }

    /// Trim `n` bytes (at most all) from the front (NetBSD: m_adj with n > 0).
    pub fn adj_front(&mut self, n: usize) {
        let n = n.min(self.len()) as u32;
        self.off += n;
        self.len -= n;
    }

    /// Trim `n` bytes (at most all) from the back (NetBSD: m_adj with n < 0).
    pub fn adj_back(&mut self, n: usize) {
        self.len -= n.min(self.len()) as u32;
    }

    /// The pool this mbuf's cluster returns to.
    pub fn pool(&self) -> &MbufPool {
        &self.pool
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        if let Some(cluster) = self.cluster.take() {
            self.pool.put(cluster);
        }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("off", &self.off)
            .field("len", &self.len)
            .finish()
    }
}

/// A chain's mbufs in order: up to `INLINE_MBUFS` in place, more on the heap.
///
/// Inline, the first `len` slots are `Some` and the rest `None`; on the heap every
/// element is `Some` and there is at least one (a heap list that empties goes back
/// inline). The heap holds `Option<Mbuf>` too, which costs no space (a null pool
/// pointer encodes `None`) and gives both forms the same slices and iterators.
enum MbufList {
    Inline {
        slots: [Option<Mbuf>; INLINE_MBUFS],
        len: u8,
    },
    Heap(VecDeque<Option<Mbuf>>),
}

impl Default for MbufList {
    fn default() -> Self {
        MbufList::Inline {
            slots: Default::default(),
            len: 0,
        }
    }
}

impl MbufList {
    fn len(&self) -> usize {
        match self {
            MbufList::Inline { len, .. } => usize::from(*len),
            MbufList::Heap(d) => d.len(),
        }
    }

    /// The slots in order, as two runs (a `VecDeque` may wrap); all `Some`.
    fn as_slices(&self) -> (&[Option<Mbuf>], &[Option<Mbuf>]) {
        match self {
            MbufList::Inline { slots, len } => (&slots[..usize::from(*len)], &[]),
            MbufList::Heap(d) => d.as_slices(),
        }
    }

    fn as_mut_slices(&mut self) -> (&mut [Option<Mbuf>], &mut [Option<Mbuf>]) {
        match self {
            MbufList::Inline { slots, len } => (&mut slots[..usize::from(*len)], &mut []),
            MbufList::Heap(d) => d.as_mut_slices(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Mbuf> {
        let (a, b) = self.as_slices();
        a.iter().chain(b).filter_map(Option::as_ref)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Mbuf> {
        let (a, b) = self.as_mut_slices();
        a.iter_mut().chain(b).filter_map(Option::as_mut)
    }

    fn front(&self) -> Option<&Mbuf> {
        match self {
            MbufList::Inline { slots, .. } => slots[0].as_ref(),
            MbufList::Heap(d) => d.front().and_then(Option::as_ref),
        }
    }

    fn front_mut(&mut self) -> Option<&mut Mbuf> {
        match self {
            MbufList::Inline { slots, .. } => slots[0].as_mut(),
            MbufList::Heap(d) => d.front_mut().and_then(Option::as_mut),
        }
    }

    fn back_mut(&mut self) -> Option<&mut Mbuf> {
        match self {
            MbufList::Inline { slots, len } => slots[..usize::from(*len)]
                .last_mut()
                .and_then(Option::as_mut),
            MbufList::Heap(d) => d.back_mut().and_then(Option::as_mut),
        }
    }

    fn push_back(&mut self, m: Mbuf) {
        match self {
            MbufList::Inline { slots, len } if usize::from(*len) < INLINE_MBUFS => {
                slots[usize::from(*len)] = Some(m);
                *len += 1;
            }
            MbufList::Inline { slots, .. } => {
                let mut d = spill(slots);
                d.push_back(Some(m));
                *self = MbufList::Heap(d);
            }
            MbufList::Heap(d) => d.push_back(Some(m)),
        }
    }

    fn push_front(&mut self, m: Mbuf) {
        match self {
            MbufList::Inline { slots, len } if usize::from(*len) < INLINE_MBUFS => {
                // Slot `len` is None; rotating brings it to the front.
                slots[..=usize::from(*len)].rotate_right(1);
                slots[0] = Some(m);
                *len += 1;
            }
            MbufList::Inline { slots, .. } => {
                let mut d = spill(slots);
                d.push_front(Some(m));
                *self = MbufList::Heap(d);
            }
            MbufList::Heap(d) => d.push_front(Some(m)),
        }
    }

    fn pop_front(&mut self) -> Option<Mbuf> {
        match self {
            MbufList::Inline { slots, len } => {
                let m = slots[0].take()?;
                // The emptied first slot rotates to the end of the used ones.
                slots[..usize::from(*len)].rotate_left(1);
                *len -= 1;
                Some(m)
            }
            MbufList::Heap(d) => {
                let m = d.pop_front().flatten();
                if d.is_empty() {
                    *self = MbufList::default();
                }
                m
            }
        }
    }

    fn pop_back(&mut self) -> Option<Mbuf> {
        match self {
            MbufList::Inline { slots, len } => {
                let m = slots[..usize::from(*len)].last_mut()?.take();
                *len -= 1;
                m
            }
            MbufList::Heap(d) => {
                let m = d.pop_back().flatten();
                if d.is_empty() {
                    *self = MbufList::default();
                }
                m
            }
        }
    }

    /// Move every mbuf of `other` to the back, reusing `other`'s heap storage if this
    /// list has none and would need some.
    fn append(&mut self, mut other: MbufList) {
        match (&mut *self, &mut other) {
            (MbufList::Heap(a), MbufList::Heap(b)) => a.append(b),
            (MbufList::Inline { slots, len }, MbufList::Heap(b)) => {
                if usize::from(*len) + b.len() <= INLINE_MBUFS {
                    // Both fit in place: keep them here and let `other`'s heap go.
                    for m in b.drain(..).flatten() {
                        slots[usize::from(*len)] = Some(m);
                        *len += 1;
                    }
                } else {
                    for m in slots[..usize::from(*len)]
                        .iter_mut()
                        .rev()
                        .filter_map(Option::take)
                    {
                        b.push_front(Some(m));
                    }
                    *self = other;
                }
            }
            (_, MbufList::Inline { slots, len }) => {
                for m in slots[..usize::from(*len)]
                    .iter_mut()
                    .filter_map(Option::take)
                {
                    self.push_back(m);
                }
            }
        }
    }
}

/// Move a full inline list's mbufs to the heap, with room to grow.
fn spill(slots: &mut [Option<Mbuf>; INLINE_MBUFS]) -> VecDeque<Option<Mbuf>> {
    let mut d = VecDeque::with_capacity(4 * INLINE_MBUFS);
    d.extend(slots.iter_mut().filter_map(Option::take).map(Some));
    d
}

/// A packet or a stream of bytes as a sequence of mbufs (NetBSD: an m_next chain).
#[derive(Default)]
pub struct MbufChain {
    mbufs: MbufList,
    /// Sum of the mbufs' lengths (NetBSD: m_pkthdr.len).
    len: usize,
}

impl MbufChain {
    /// An empty chain with no mbufs.
    pub fn new() -> Self {
        MbufChain::default()
    }

    /// Total bytes of data.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the chain holds no data (it may still hold empty mbufs).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of mbufs, empty ones included.
    pub fn mbuf_count(&self) -> usize {
        self.mbufs.len()
    }

    /// Copy `src` into a new chain whose first mbuf keeps `headroom` bytes (clamped to
    /// [`MCLBYTES`]) free for headers (NetBSD: m_devget).
    ///
    /// The chain always has a first mbuf, even for an empty `src`, so headers can be
    /// prepended to an empty payload without another allocation.
    ///
    /// # Errors
    /// `ENOBUFS` if the pool runs out; every cluster taken so far is returned.
    pub fn from_slice(pool: &MbufPool, src: &[u8], headroom: usize) -> Result<Self, Errno> {
        let mut first = pool.get()?;
        first.reserve_headroom(headroom);
        let n = first.append(src);
        let mut chain = MbufChain::new();
        chain.push(first);
        // On error `chain` drops here and gives its clusters back.
        chain.append_slice(pool, &src[n..])?;
        Ok(chain)
    }

    /// Append a copy of `src`, filling the last mbuf's trailing space first.
    ///
    /// # Errors
    /// `ENOBUFS` if the pool runs out; the chain is then left as it was.
    pub fn append_slice(&mut self, pool: &MbufPool, src: &[u8]) -> Result<(), Errno> {
        let count = self.mbufs.len();
        let into_last = self.mbufs.back_mut().map_or(0, |m| m.append(src));
        let mut rest = &src[into_last..];
        while !rest.is_empty() {
            let mut m = match pool.get() {
                Ok(m) => m,
                Err(e) => {
                    while self.mbufs.len() > count {
                        self.mbufs.pop_back();
                    }
                    if let Some(last) = self.mbufs.back_mut() {
                        last.adj_back(into_last);
                    }
                    return Err(e);
                }
            };
            let n = m.append(rest);
            rest = &rest[n..];
            self.mbufs.push_back(m);
        }
        self.len += src.len();
        Ok(())
    }

    /// Put `n` bytes in front of the data and return them, zeroed, for the caller to fill
    /// (NetBSD: M_PREPEND). Uses the first mbuf's headroom, or a new mbuf if it has too
    /// little.
    ///
    /// # Errors
    /// `EINVAL` if `n` exceeds [`MCLBYTES`]; `ENOBUFS` if a new mbuf is needed and the
    /// pool is out. The chain is unchanged on error.
    pub fn prepend(&mut self, pool: &MbufPool, n: usize) -> Result<&mut [u8], Errno> {
        if n > MCLBYTES {
            return Err(Errno::EINVAL);
        }
        if !matches!(self.mbufs.front(), Some(m) if m.leading_space() >= n) {
            let mut m = pool.get()?;
            m.reserve_headroom(MCLBYTES);
            self.mbufs.push_front(m);
        }
        let hdr = self
            .mbufs
            .front_mut()
            .and_then(|m| m.prepend(n))
            .ok_or(Errno::EINVAL)?;
        self.len += n;
        Ok(hdr)
    }

    /// Append one mbuf.
    pub fn push(&mut self, m: Mbuf) {
        self.len += m.len();
        self.mbufs.push_back(m);
    }

    /// Append another chain (NetBSD: m_cat). As in m_cat, leading mbufs of `other` whose
    /// data fits in this chain's last mbuf are copied into it and freed.
    pub fn concat(&mut self, mut other: MbufChain) {
        self.len += other.len;
        if let Some(last) = self.mbufs.back_mut() {
            while let Some(m) = other.mbufs.front() {
                if m.len() > last.trailing_space() {
                    break;
                }
                last.append(m.data());
                other.mbufs.pop_front();
            }
        }
        self.mbufs.append(other.mbufs);
    }

    /// Copy bytes from offset `off` into `dst`; returns the bytes copied, short only when
    /// the chain ends first (NetBSD: m_copydata).
    pub fn copy_out(&self, off: usize, dst: &mut [u8]) -> usize {
        let mut skip = off;
        let mut done = 0;
        for m in self.mbufs.iter() {
            if done == dst.len() {
                break;
            }
            let d = m.data();
            if skip >= d.len() {
                skip -= d.len();
                continue;
            }
            let n = (d.len() - skip).min(dst.len() - done);
            dst[done..done + n].copy_from_slice(&d[skip..skip + n]);
            done += n;
            skip = 0;
        }
        done
    }

    /// Overwrite bytes from offset `off` with `src`, within the chain's length; returns
    /// the bytes written (NetBSD: m_copyback without growing).
    pub fn copy_in(&mut self, off: usize, src: &[u8]) -> usize {
        let mut skip = off;
        let mut done = 0;
        for m in self.mbufs.iter_mut() {
            if done == src.len() {
                break;
            }
            let d = m.data_mut();
            if skip >= d.len() {
                skip -= d.len();
                continue;
            }
            let n = (d.len() - skip).min(src.len() - done);
            d[skip..skip + n].copy_from_slice(&src[done..done + n]);
            done += n;
            skip = 0;
        }
        done
    }

    /// The first `n` bytes if the first mbuf holds them contiguously (a cheap m_pullup
    /// check); None otherwise.
    pub fn head(&self, n: usize) -> Option<&[u8]> {
        self.mbufs
            .front()
            .map(|m| m.data())
            .filter(|d| d.len() >= n)
            .map(|d| &d[..n])
    }

    /// Drop `n` bytes (at most all) from the front, freeing emptied mbufs (NetBSD:
    /// m_adj with n > 0, sbdrop).
    pub fn drop_front(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(m) = self.mbufs.front_mut() else {
                break;
            };
            if m.len() <= n {
                n -= m.len();
                self.mbufs.pop_front();
            } else {
                m.adj_front(n);
                n = 0;
            }
        }
    }

    /// Drop `n` bytes (at most all) from the back, freeing emptied mbufs (NetBSD: m_adj
    /// with n < 0).
    pub fn drop_back(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(m) = self.mbufs.back_mut() else {
                break;
            };
            if m.len() <= n {
                n -= m.len();
                self.mbufs.pop_back();
            } else {
                m.adj_back(n);
                n = 0;
            }
        }
    }

    /// Take the first `n` bytes (at most all) off as a new chain (NetBSD: m_split).
    ///
    /// Whole mbufs move without copying. An mbuf cut in two has its smaller part copied
    /// into a new cluster (at most `MCLBYTES / 2` bytes); a copied front part gets
    /// [`MAX_HDR`] of headroom. This never fails: at the pool's limit the cluster is taken
    /// anyway and counted in [`MbufStats::overdrafts`]; use
    /// [`MbufChain::try_split_off_front`] to honour the limit instead.
    pub fn split_off_front(&mut self, n: usize) -> MbufChain {
        match self.split(n, /* overdraft */ true) {
            Ok(front) => front,
            // With overdraft the pool never refuses.
            Err(_) => MbufChain::new(),
        }
    }

    /// Like [`MbufChain::split_off_front`], but within the pool's limit.
    ///
    /// # Errors
    /// `ENOBUFS` if an mbuf must be cut and the pool is out; the chain is then unchanged.
    pub fn try_split_off_front(&mut self, n: usize) -> Result<MbufChain, Errno> {
        self.split(n, /* overdraft */ false)
    }

    fn split(&mut self, n: usize, overdraft: bool) -> Result<MbufChain, Errno> {
        let n = n.min(self.len);
        if n == self.len {
            return Ok(std::mem::take(self));
        }
        // Find the mbuf the cut falls in (there is one: n < len) and the cut's offset.
        let mut whole = 0;
        let mut cut = n;
        let mut cut_pool = None;
        for m in self.mbufs.iter() {
            if m.len() > cut {
                cut_pool = Some(m.pool());
                break;
            }
            cut -= m.len();
            whole += 1;
        }
        // Take the cluster before moving anything, so a refusal changes nothing.
        let spare = match cut_pool {
            Some(pool) if cut > 0 => Some(pool.take(overdraft).ok_or(Errno::ENOBUFS)?),
            _ => None,
        };
        let mut front = MbufChain::new();
        for _ in 0..whole {
            if let Some(m) = self.mbufs.pop_front() {
                front.push(m);
            }
        }
        let cut_mbuf = spare.and_then(|spare| Some((spare, self.mbufs.pop_front()?)));
        if let Some((mut spare, mut m)) = cut_mbuf {
            if cut <= m.len() - cut {
                // Copy the front part; the original keeps the rest.
                spare.reserve_headroom(MAX_HDR);
                spare.append(&m.data()[..cut]);
                m.adj_front(cut);
                front.push(spare);
                self.mbufs.push_front(m);
            } else {
                // Copy the back part; the original (with its headroom) moves to the front.
                spare.append(&m.data()[cut..]);
                m.adj_back(m.len() - cut);
                front.push(m);
                self.mbufs.push_front(spare);
            }
        }
        self.len -= n;
        Ok(front)
    }

    /// The data, one slice per non-empty mbuf (for writev and checksums).
    pub fn iter_slices(&self) -> impl Iterator<Item = &[u8]> {
        self.mbufs.iter().map(Mbuf::data).filter(|s| !s.is_empty())
    }

    /// The mbufs, empty ones included.
    pub fn iter(&self) -> impl Iterator<Item = &Mbuf> {
        self.mbufs.iter()
    }

    /// The whole data copied into one vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for s in self.iter_slices() {
            v.extend_from_slice(s);
        }
        v
    }
}

impl fmt::Debug for MbufChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MbufChain")
            .field("len", &self.len)
            .field("mbufs", &self.mbufs.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Marsaglia's xorshift64: deterministic and dependency-free.
    pub(super) struct XorShift(pub(super) u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        pub(super) fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Distinct-looking bytes to copy from.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    pub(super) fn assert_balanced(pool: &MbufPool) {
        let st = pool.stats();
        assert_eq!(st.outstanding, 0, "{st:?}");
        assert_eq!(st.allocated, st.freed, "{st:?}");
    }

    #[test]
    fn pool_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<MbufPool>();
        check::<Mbuf>();
        check::<MbufChain>();
    }

    #[test]
    fn get_and_drop_keep_counts() {
        let pool = MbufPool::new(8);
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        let st = pool.stats();
        assert_eq!(
            (st.allocated, st.freed, st.outstanding, st.cached),
            (2, 0, 2, 0)
        );
        assert_eq!(st.limit, 8);
        assert_eq!(a.len(), 0);
        assert_eq!(a.trailing_space(), MCLBYTES);
        assert_eq!(a.leading_space(), 0);
        drop(a);
        drop(b);
        let st = pool.stats();
        assert_eq!(
            (st.allocated, st.freed, st.outstanding, st.cached),
            (2, 2, 0, 2)
        );
    }

    #[test]
    fn limit_refuses_and_memory_is_reused() {
        let pool = MbufPool::new(3);
        let mut held: Vec<Mbuf> = (0..3).map(|_| pool.get().unwrap()).collect();
        assert_eq!(pool.get().unwrap_err(), Errno::ENOBUFS);
        assert_eq!(pool.get().unwrap_err(), Errno::ENOBUFS);
        assert_eq!(pool.stats().drops, 2);
        let freed_at = held.pop().unwrap();
        let addr = freed_at.data().as_ptr();
        drop(freed_at);
        assert_eq!(pool.stats().cached, 1);
        let again = pool.get().unwrap();
        assert_eq!(
            again.data().as_ptr(),
            addr,
            "the cached cluster is handed out again"
        );
        let st = pool.stats();
        assert_eq!(
            (st.allocated, st.outstanding, st.cached, st.drops),
            (4, 3, 0, 2)
        );
        drop(again);
        drop(held);
        // The cache never holds more than the limit.
        assert_eq!(pool.stats().cached, 3);
        assert_balanced(&pool);
    }

    #[test]
    fn zero_limit_refuses_everything() {
        let pool = MbufPool::new(0);
        assert!(pool.get().is_err());
        assert!(MbufChain::from_slice(&pool, b"x", 0).is_err());
        assert_eq!(pool.stats().drops, 2);
        assert_eq!(pool.stats().allocated, 0);
    }

    #[test]
    fn append_copies_what_fits() {
        let pool = MbufPool::new(1);
        let mut m = pool.get().unwrap();
        m.reserve_headroom(100);
        let src = pattern(3000);
        assert_eq!(m.append(&src), MCLBYTES - 100);
        assert_eq!(m.data(), &src[..MCLBYTES - 100]);
        assert_eq!(m.trailing_space(), 0);
        assert_eq!(m.append(b"more"), 0);
    }

    #[test]
    fn prepend_into_headroom() {
        let pool = MbufPool::new(1);
        let mut m = pool.get().unwrap();
        // Dirty the cluster, then recycle it: prepended bytes must come back zeroed.
        m.append(&[0xff; MCLBYTES]);
        drop(m);
        let mut m = pool.get().unwrap();
        m.reserve_headroom(MAX_HDR);
        assert_eq!(m.leading_space(), MAX_HDR);
        m.append(b"payload");
        let hdr = m.prepend(20).unwrap();
        assert_eq!(hdr, &[0; 20]);
        hdr[0] = 0x45;
        assert_eq!(m.len(), 27);
        assert_eq!(m.leading_space(), MAX_HDR - 20);
        assert_eq!(m.data()[0], 0x45);
        assert_eq!(&m.data()[20..], b"payload");
        assert!(m.prepend(MAX_HDR - 19).is_none());
        assert_eq!(m.len(), 27);
        assert!(m.prepend(MAX_HDR - 20).is_some());
        assert_eq!(m.leading_space(), 0);
        assert!(m.prepend(1).is_none());
        m.data_mut()[0] = 9;
        assert_eq!(m.data()[0], 9);
    }

    #[test]
    #[should_panic(expected = "reserve_headroom")]
    fn reserve_headroom_on_data_panics() {
        let pool = MbufPool::new(1);
        let mut m = pool.get().unwrap();
        m.append(b"x");
        m.reserve_headroom(4);
    }

    #[test]
    fn reserve_headroom_clamps() {
        let pool = MbufPool::new(1);
        let mut m = pool.get().unwrap();
        m.reserve_headroom(MCLBYTES + 5);
        assert_eq!((m.leading_space(), m.trailing_space()), (MCLBYTES, 0));
        assert_eq!(m.append(b"x"), 0);
    }

    #[test]
    fn adj_clamps() {
        let pool = MbufPool::new(1);
        let mut m = pool.get().unwrap();
        m.append(b"0123456789");
        m.adj_front(2);
        m.adj_back(3);
        assert_eq!(m.data(), b"23456");
        assert_eq!(m.leading_space(), 2);
        m.adj_back(100);
        assert!(m.is_empty());
        m.adj_front(100);
        assert!(m.is_empty());
    }

    #[test]
    fn from_slice_spans_mbufs_with_headroom_in_front() {
        let pool = MbufPool::new(16);
        let src = pattern(5000);
        let c = MbufChain::from_slice(&pool, &src, MAX_HDR).unwrap();
        assert_eq!(c.len(), 5000);
        assert_eq!(c.to_vec(), src);
        assert_eq!(c.mbuf_count(), 3);
        let first = c.iter().next().unwrap();
        assert_eq!(first.leading_space(), MAX_HDR);
        assert_eq!(first.len(), MCLBYTES - MAX_HDR);
        assert_eq!(c.iter_slices().map(<[u8]>::len).sum::<usize>(), 5000);
        // An empty payload still gets an mbuf to prepend headers into.
        let mut e = MbufChain::from_slice(&pool, &[], MAX_HDR).unwrap();
        assert_eq!((e.len(), e.mbuf_count()), (0, 1));
        assert_eq!(e.iter_slices().count(), 0);
        e.prepend(&pool, 8).unwrap().copy_from_slice(b"udp hdr!");
        assert_eq!(e.to_vec(), b"udp hdr!");
        assert_eq!(e.mbuf_count(), 1);
    }

    #[test]
    fn from_slice_at_the_limit_leaks_nothing() {
        let pool = MbufPool::new(2);
        let src = pattern(3 * MCLBYTES);
        assert_eq!(
            MbufChain::from_slice(&pool, &src, 0).unwrap_err(),
            Errno::ENOBUFS
        );
        let st = pool.stats();
        assert_eq!(st.drops, 1);
        assert_eq!(st.allocated, 2);
        assert_balanced(&pool);
        // Exactly at the limit it works.
        let c = MbufChain::from_slice(&pool, &src[..2 * MCLBYTES], 0).unwrap();
        assert_eq!(c.mbuf_count(), 2);
        drop(c);
        assert_balanced(&pool);
    }

    #[test]
    fn append_slice_fills_the_tail_first_and_rolls_back() {
        let pool = MbufPool::new(2);
        let mut c = MbufChain::from_slice(&pool, b"abc", 0).unwrap();
        c.append_slice(&pool, b"def").unwrap();
        assert_eq!(c.mbuf_count(), 1);
        assert_eq!(c.to_vec(), b"abcdef");
        let big = pattern(2 * MCLBYTES);
        assert_eq!(c.append_slice(&pool, &big).unwrap_err(), Errno::ENOBUFS);
        assert_eq!(c.to_vec(), b"abcdef");
        assert_eq!((c.len(), c.mbuf_count()), (6, 1));
        assert_eq!(pool.stats().outstanding, 1);
        c.append_slice(&pool, &big[..MCLBYTES]).unwrap();
        assert_eq!(c.mbuf_count(), 2);
        assert_eq!(&c.to_vec()[6..], &big[..MCLBYTES]);
        // Appending to a chain with no mbufs allocates.
        let mut d = MbufChain::new();
        assert_eq!(d.append_slice(&pool, b"x").unwrap_err(), Errno::ENOBUFS);
        assert_eq!(d.mbuf_count(), 0);
        drop(c);
        d.append_slice(&pool, b"x").unwrap();
        assert_eq!(d.to_vec(), b"x");
        drop(d);
        assert_balanced(&pool);
    }

    #[test]
    fn chain_prepend_uses_headroom_or_a_new_mbuf() {
        let pool = MbufPool::new(4);
        let mut c = MbufChain::from_slice(&pool, b"data", 10).unwrap();
        c.prepend(&pool, 10).unwrap().copy_from_slice(b"0123456789");
        assert_eq!(c.mbuf_count(), 1);
        c.prepend(&pool, 3).unwrap().copy_from_slice(b"abc");
        assert_eq!(c.mbuf_count(), 2);
        assert_eq!(c.to_vec(), b"abc0123456789data");
        assert_eq!(c.len(), 17);
        assert_eq!(c.prepend(&pool, MCLBYTES + 1).unwrap_err(), Errno::EINVAL);
        let mut empty = MbufChain::new();
        empty.prepend(&pool, MCLBYTES).unwrap();
        assert_eq!(empty.len(), MCLBYTES);
        let _hold = pool.get().unwrap();
        assert_eq!(c.prepend(&pool, MCLBYTES).unwrap_err(), Errno::ENOBUFS);
        assert_eq!(c.len(), 17);
    }

    #[test]
    fn concat_compacts_small_mbufs() {
        let pool = MbufPool::new(8);
        let mut a = MbufChain::from_slice(&pool, b"hello ", 0).unwrap();
        let b = MbufChain::from_slice(&pool, b"world", MAX_HDR).unwrap();
        a.concat(b);
        assert_eq!(a.mbuf_count(), 1);
        assert_eq!(a.to_vec(), b"hello world");
        assert_eq!(pool.stats().outstanding, 1);
        let big = pattern(3000);
        let c = MbufChain::from_slice(&pool, &big, 0).unwrap();
        a.concat(c);
        assert_eq!(a.mbuf_count(), 3);
        assert_eq!(a.len(), 11 + 3000);
        assert_eq!(&a.to_vec()[11..], &big[..]);
        let mut empty = MbufChain::new();
        empty.concat(a);
        assert_eq!(empty.len(), 3011);
        drop(empty);
        assert_balanced(&pool);
    }

    #[test]
    fn copy_out_drop_and_split_match_a_model() {
        let pool = MbufPool::new(1 << 12);
        let mut rng = XorShift(0xdead_beef);
        let src = pattern(40_000);
        for _ in 0..300 {
            // A chain with mbufs of uneven fill, some empty.
            let mut c = MbufChain::new();
            let mut model = Vec::new();
            for _ in 0..1 + rng.below(12) {
                let mut m = pool.get().unwrap();
                m.reserve_headroom(rng.below(MCLBYTES));
                let want = rng.below(MCLBYTES + 1);
                let at = rng.below(src.len() - MCLBYTES);
                let n = m.append(&src[at..at + want]);
                model.extend_from_slice(&src[at..at + n]);
                c.push(m);
            }
            assert_eq!(c.len(), model.len());
            assert_eq!(c.to_vec(), model);
            // copy_out at every mbuf boundary and at random offsets.
            let mut offsets: Vec<usize> = c
                .iter()
                .scan(0, |acc, m| {
                    *acc += m.len();
                    Some(*acc)
                })
                .collect();
            offsets.extend((0..8).map(|_| rng.below(model.len() + 2)));
            for &off in &offsets {
                for &want in &[0, 1, 7, MCLBYTES, model.len() + 1] {
                    let mut dst = vec![0; want];
                    let n = c.copy_out(off, &mut dst);
                    let expect = model.len().saturating_sub(off).min(want);
                    assert_eq!(n, expect);
                    assert_eq!(&dst[..n], &model[off.min(model.len())..][..n]);
                }
            }
            // drop_front, drop_back and a split, each checked against the model.
            let d = rng.below(model.len() / 4 + 2);
            c.drop_front(d);
            model.drain(..d.min(model.len()));
            let d = rng.below(model.len() / 4 + 2);
            c.drop_back(d);
            model.truncate(model.len().saturating_sub(d));
            assert_eq!(c.to_vec(), model);
            let s = rng.below(model.len() + 2);
            let front = c.split_off_front(s);
            let rest = model.split_off(s.min(model.len()));
            assert_eq!(front.len(), model.len());
            assert_eq!(front.to_vec(), model);
            assert_eq!(c.len(), rest.len());
            assert_eq!(c.to_vec(), rest);
            assert!(c.iter().all(|m| m.window().end <= MCLBYTES));
        }
        assert_balanced(&pool);
    }

    #[test]
    fn split_copies_the_smaller_part() {
        let pool = MbufPool::new(8);
        let src = pattern(MCLBYTES);
        let mut c = MbufChain::from_slice(&pool, &src, 0).unwrap();
        // Small front part: copied into a new mbuf with header room; original stays.
        let keep = c.iter().next().unwrap().data().as_ptr();
        let front = c.split_off_front(100);
        assert_eq!(front.to_vec(), &src[..100]);
        assert_eq!(front.iter().next().unwrap().leading_space(), MAX_HDR);
        assert_eq!(
            c.iter().next().unwrap().data().as_ptr(),
            keep.wrapping_add(100)
        );
        // Large front part: the original moves, the small tail is copied.
        let front2 = c.split_off_front(1900);
        assert_eq!(
            front2.iter().next().unwrap().data().as_ptr(),
            keep.wrapping_add(100)
        );
        assert_eq!(c.to_vec(), &src[2000..]);
        assert_eq!(front2.to_vec(), &src[100..2000]);
        // Splits on mbuf boundaries copy nothing and need no cluster.
        let mut two = MbufChain::from_slice(&pool, &pattern(2 * MCLBYTES), 0).unwrap();
        let before = pool.stats().allocated;
        let head = two.split_off_front(MCLBYTES);
        assert_eq!((head.mbuf_count(), two.mbuf_count()), (1, 1));
        assert_eq!(pool.stats().allocated, before);
        assert_eq!(c.split_off_front(0).len(), 0);
        let all = c.split_off_front(usize::MAX);
        assert_eq!(all.to_vec(), &src[2000..]);
        assert!(c.is_empty());
    }

    #[test]
    fn split_at_the_limit() {
        let pool = MbufPool::new(2);
        let src = pattern(2 * MCLBYTES);
        let mut c = MbufChain::from_slice(&pool, &src, 0).unwrap();
        assert_eq!(c.try_split_off_front(10).unwrap_err(), Errno::ENOBUFS);
        assert_eq!(c.to_vec(), src);
        assert_eq!(c.mbuf_count(), 2);
        // Boundary splits need no cluster, so they succeed at the limit.
        let mut head = c.try_split_off_front(MCLBYTES).unwrap();
        head.concat(c);
        let mut c = head;
        // The infallible split overdraws, and the pool counts it.
        let front = c.split_off_front(10);
        assert_eq!(front.to_vec(), &src[..10]);
        assert_eq!(c.to_vec(), &src[10..]);
        let st = pool.stats();
        assert_eq!((st.outstanding, st.overdrafts), (3, 1));
        drop((front, c));
        assert!(pool.stats().cached <= 2);
        assert_balanced(&pool);
    }

    #[test]
    fn drop_front_and_back_free_emptied_mbufs() {
        let pool = MbufPool::new(8);
        let mut c = MbufChain::from_slice(&pool, &pattern(3 * MCLBYTES), 0).unwrap();
        c.drop_front(MCLBYTES + 1);
        assert_eq!((c.mbuf_count(), c.len()), (2, 2 * MCLBYTES - 1));
        assert_eq!(pool.stats().outstanding, 2);
        c.drop_back(MCLBYTES);
        assert_eq!((c.mbuf_count(), c.len()), (1, MCLBYTES - 1));
        c.drop_front(usize::MAX);
        assert_eq!((c.mbuf_count(), c.len()), (0, 0));
        c.drop_back(5);
        assert_balanced(&pool);
    }

    #[test]
    fn pool_is_shared_across_threads() {
        let pool = MbufPool::new(64);
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut held = Vec::new();
                    for i in 0..20_000 {
                        if let Ok(c) = MbufChain::from_slice(&pool, &[t; 100], 0) {
                            held.push(c);
                        }
                        if i % 3 == 0 || held.len() > 20 {
                            held.pop();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(pool.same_pool(&pool.clone()));
        assert!(!pool.same_pool(&MbufPool::new(1)));
        assert_balanced(&pool);
    }

    #[test]
    fn churn_a_million_operations() {
        const CHAINS: usize = 8;
        let pool = MbufPool::new(48);
        let src = pattern(8192);
        let mut rng = XorShift(0x0123_4567_89ab_cdef);
        let mut chains: Vec<MbufChain> = (0..CHAINS).map(|_| MbufChain::new()).collect();
        let mut models: Vec<VecDeque<u8>> = vec![VecDeque::new(); CHAINS];
        let mut loose: Vec<Mbuf> = Vec::new();
        let mut refused = 0u64;
        for step in 0..1_000_000u32 {
            let i = rng.below(CHAINS);
            match rng.below(10) {
                0 => match pool.get() {
                    // A single mbuf, filled and pushed onto a chain or kept loose.
                    Ok(mut m) => {
                        m.reserve_headroom(rng.below(MAX_HDR + 1));
                        let at = rng.below(4096);
                        let n = m.append(&src[at..at + rng.below(4096)]);
                        if rng.below(2) == 0 {
                            models[i].extend(&src[at..at + n]);
                            chains[i].push(m);
                        } else {
                            loose.push(m);
                        }
                    }
                    Err(_) => refused += 1,
                },
                1 | 2 => {
                    let at = rng.below(4096);
                    let part = &src[at..at + rng.below(3000)];
                    match chains[i].append_slice(&pool, part) {
                        Ok(()) => models[i].extend(part),
                        Err(_) => refused += 1,
                    }
                }
                3 => {
                    let n = rng.below(chains[i].len() + 10);
                    let j = rng.below(CHAINS);
                    let front = chains[i].split_off_front(n);
                    let k = n.min(models[i].len());
                    let rest = models[i].split_off(k);
                    let mut taken = std::mem::replace(&mut models[i], rest);
                    assert_eq!(front.to_vec(), taken.make_contiguous());
                    if j != i {
                        // m_cat the split part onto another chain.
                        chains[j].concat(front);
                        models[j].append(&mut taken);
                    }
                }
                4 | 5 => {
                    let n = rng.below(chains[i].len() / 2 + 10);
                    chains[i].drop_front(n);
                    let k = n.min(models[i].len());
                    models[i].drain(..k);
                }
                6 => {
                    let off = rng.below(chains[i].len() + 1);
                    let mut dst = [0u8; 300];
                    let n = chains[i].copy_out(off, &mut dst);
                    let m = &mut models[i];
                    let want = &m.make_contiguous()[off..];
                    assert_eq!(&dst[..n], &want[..want.len().min(300)]);
                }
                7 => {
                    if !loose.is_empty() {
                        loose.swap_remove(rng.below(loose.len()));
                    }
                }
                8 => {
                    if rng.below(20) == 0 {
                        chains[i] = MbufChain::new();
                        models[i].clear();
                    }
                }
                _ => match MbufChain::from_slice(&pool, &src[..rng.below(5000)], MAX_HDR) {
                    Ok(c) => {
                        let j = rng.below(CHAINS);
                        models[j].extend(&c.to_vec());
                        chains[j].concat(c);
                    }
                    Err(_) => refused += 1,
                },
            }
            assert_eq!(chains[i].len(), models[i].len());
            if step % 4096 == 0 {
                for (c, m) in chains.iter().zip(&models) {
                    assert!(c.to_vec().iter().eq(m.iter()));
                }
            }
        }
        let st = pool.stats();
        assert!(refused > 0 && st.drops == refused, "{st:?}");
        assert!(st.cached <= st.limit);
        drop(chains);
        drop(loose);
        assert_balanced(&pool);
    }
}

#[cfg(test)]
mod copy_in_tests {
    use super::*;

    #[test]
    fn copy_in_spans_mbufs_and_never_grows() {
        let pool = MbufPool::new(16);
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mut c = MbufChain::from_slice(&pool, &data, 0).unwrap();
        assert_eq!(c.copy_in(2040, &[9; 20]), 20);
        let v = c.to_vec();
        assert!(v[2040..2060].iter().all(|&b| b == 9));
        assert_eq!(v[2039], data[2039]);
        assert_eq!(c.copy_in(4995, &[1; 10]), 5);
        assert_eq!(c.len(), 5000);
        assert_eq!(c.head(10), Some(&data[..10]));
        assert_eq!(c.head(5000), None);
    }
}

#[cfg(test)]
mod list_tests {
    use super::tests::{assert_balanced, XorShift};
    use super::*;

    fn c_tags(c: &MbufChain) -> Vec<u8> {
        c.to_vec()
    }

    fn is_inline(c: &MbufChain) -> bool {
        matches!(c.mbufs, MbufList::Inline { .. })
    }

    /// An mbuf holding the one byte `tag`.
    fn tagged(pool: &MbufPool, tag: u8) -> Mbuf {
        let mut m = pool.get().unwrap();
        m.append(&[tag]);
        m
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn mbufs_and_chains_stay_small() {
        // Chains move by value through every layer, and moves of more than a few words
        // become memcpy calls (15% of a TCP profile with 176-byte chains).
        use std::mem::size_of;
        assert_eq!(size_of::<Mbuf>(), 24);
        assert_eq!(size_of::<Option<Mbuf>>(), 24);
        assert_eq!(size_of::<MbufChain>(), 88);
    }

    #[test]
    fn a_chain_spills_to_the_heap_and_comes_back() {
        let pool = MbufPool::new(64);
        let n = INLINE_MBUFS as u8;
        let upto = |end: u8| (0..end).collect::<Vec<u8>>();
        let mut c = MbufChain::new();
        for t in 0..n {
            c.push(tagged(&pool, t));
            assert!(is_inline(&c));
        }
        c.push(tagged(&pool, n));
        assert!(!is_inline(&c));
        assert_eq!(c_tags(&c), upto(n + 1));
        // Shrinking keeps the heap until it empties.
        c.drop_back(usize::from(n));
        assert_eq!((c_tags(&c), is_inline(&c)), (vec![0], false));
        c.drop_front(1);
        assert_eq!((c.mbuf_count(), is_inline(&c)), (0, true));
        // Refilled, it is inline again up to the limit; a prepend into a full inline
        // chain spills at the front.
        for t in 0..n {
            c.push(tagged(&pool, t));
        }
        assert!(is_inline(&c));
        c.prepend(&pool, 1).unwrap()[0] = 99;
        assert!(!is_inline(&c));
        assert_eq!(c_tags(&c), [vec![99], upto(n)].concat());
        // A split of everything takes the heap along and leaves an inline chain.
        let all = c.split_off_front(c.len());
        assert!(is_inline(&c) && !is_inline(&all));
        assert_eq!(c_tags(&all), [vec![99], upto(n)].concat());
        drop(all);
        // An append that spills and then runs out rolls back to the same mbufs.
        let small = MbufPool::new(INLINE_MBUFS + 1);
        let mut d = MbufChain::new();
        for t in 0..n {
            d.push(tagged(&small, t));
        }
        let big = vec![7; 3 * MCLBYTES];
        assert_eq!(d.append_slice(&small, &big).unwrap_err(), Errno::ENOBUFS);
        assert_eq!((c_tags(&d), d.mbuf_count()), (upto(n), INLINE_MBUFS));
        assert_eq!(small.stats().outstanding, INLINE_MBUFS);
        drop(d);
        assert_balanced(&small);
        assert_balanced(&pool);
    }

    #[test]
    fn concat_of_every_storage_pair() {
        let pool = MbufPool::new(64);
        // Full mbufs, so m_cat compacts nothing and mbuf counts add up.
        let full = |tag: u8| {
            let mut m = pool.get().unwrap();
            m.append(&[tag; MCLBYTES]);
            m
        };
        // (mbufs in self, mbufs in other, of which dropped from other's front first)
        for &(a, b, shrink) in &[
            (0u8, 0u8, 0u8),
            (0, 6, 0),
            (2, 2, 0),
            (3, 3, 0),
            (1, 6, 0),
            (2, 6, 4),
            (6, 2, 0),
            (6, 6, 0),
            (3, 6, 3),
        ] {
            let mut x = MbufChain::new();
            for t in 0..a {
                x.push(full(t));
            }
            let mut y = MbufChain::new();
            for t in 0..b {
                y.push(full(100 + t));
            }
            y.drop_front(usize::from(shrink) * MCLBYTES);
            let want: Vec<u8> = x.to_vec().into_iter().chain(y.to_vec()).collect();
            let count = x.mbuf_count() + y.mbuf_count();
            x.concat(y);
            assert_eq!(x.mbuf_count(), count);
            assert_eq!(x.len(), count * MCLBYTES);
            assert!(x.to_vec() == want, "{a} {b} {shrink}");
            assert_eq!(is_inline(&x), count <= INLINE_MBUFS, "{a} {b} {shrink}");
        }
        assert_balanced(&pool);
    }

    #[test]
    fn list_matches_a_model() {
        let pool = MbufPool::new(1 << 10);
        let mut rng = XorShift(0x5eed);
        let mut list = MbufList::default();
        let mut model: VecDeque<u8> = VecDeque::new();
        let tag = |m: &Mbuf| m.data()[0];
        for step in 0..200_000u32 {
            let t = step as u8;
            match rng.below(7) {
                0 | 1 => {
                    list.push_back(tagged(&pool, t));
                    model.push_back(t);
                }
                2 => {
                    list.push_front(tagged(&pool, t));
                    model.push_front(t);
                }
                3 => assert_eq!(list.pop_front().map(|m| tag(&m)), model.pop_front()),
                4 => assert_eq!(list.pop_back().map(|m| tag(&m)), model.pop_back()),
                5 => {
                    let mut other = MbufList::default();
                    let mut more = VecDeque::new();
                    for k in 0..rng.below(2 * INLINE_MBUFS + 2) {
                        other.push_back(tagged(&pool, t.wrapping_add(k as u8)));
                        more.push_back(t.wrapping_add(k as u8));
                    }
                    list.append(other);
                    model.append(&mut more);
                }
                _ => {
                    // Keep lengths hovering around the inline limit.
                    while list.len() > 3 * INLINE_MBUFS {
                        list.pop_front();
                        model.pop_front();
                    }
                }
            }
            assert_eq!(list.len(), model.len());
            assert!(list.iter().map(tag).eq(model.iter().copied()));
            assert_eq!(list.front().map(tag), model.front().copied());
            assert_eq!(list.back_mut().map(|m| tag(m)), model.back().copied());
            match &list {
                MbufList::Inline { slots, len } => {
                    assert!(usize::from(*len) <= INLINE_MBUFS);
                    assert!(slots
                        .iter()
                        .enumerate()
                        .all(|(i, s)| s.is_some() == (i < usize::from(*len))));
                }
                MbufList::Heap(d) => assert!(!d.is_empty() && d.iter().all(Option::is_some)),
            }
        }
        drop(list);
        assert_balanced(&pool);
    }
}
