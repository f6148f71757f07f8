//! Network interfaces (NetBSD: net/if.c, net/if.h) and the input queue between drivers
//! and the stack (net/netisr, pktqueue).
//!
//! A driver owns the hardware side of an [`Ifnet`]: the stack calls
//! [`IfDriver::output`] under the kernel lock to send a frame (the driver must not
//! block), and the driver delivers received frames from its own thread through an
//! [`IfInput`] handle, which queues them without taking the kernel lock. The kernel's
//! netisr thread (the paper's "soft interrupt" for protocol processing) takes the queue
//! and runs Ethernet input under the lock. Ownership: a chain given to `output` or to
//! `IfInput::input` belongs to the callee from then on.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;

/// Longest interface name, with its NUL (IFNAMSIZ).
pub const IFNAMSIZ: usize = 16;
/// Default length of an interface send queue and of the input queue (IFQ_MAXLEN).
pub const IFQ_MAXLEN: usize = 512;

/// Interface flags (NetBSD's IFF_* in sys/net/if.h).
pub mod flags {
    /// Administratively up.
    pub const IFF_UP: i32 = 0x0001;
    /// Has a broadcast address.
    pub const IFF_BROADCAST: i32 = 0x0002;
    /// The loopback interface.
    pub const IFF_LOOPBACK: i32 = 0x0008;
    /// Point-to-point link.
    pub const IFF_POINTOPOINT: i32 = 0x0010;
    /// Resources allocated: the driver is running.
    pub const IFF_RUNNING: i32 = 0x0040;
    /// No ARP.
    pub const IFF_NOARP: i32 = 0x0080;
    /// Receive all frames.
    pub const IFF_PROMISC: i32 = 0x0100;
    /// Transmission in progress.
    pub const IFF_OACTIVE: i32 = 0x0400;
    /// Supports multicast.
    pub const IFF_MULTICAST: i32 = 0x8000;
    /// Flags the user may change with SIOCSIFFLAGS.
    /// NetBSD's IFF_CANTCHANGE (the same mask rumpdefs.h exports); RUNNING follows UP
    /// here, as the drivers have nothing to bring up.
    pub const IFF_CANTCHANGE: i32 = crate::abi::netbsd::RUMP_IFF_CANTCHANGE;
}

/// Interface statistics (`struct if_data` counters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfData {
    /// Frames received.
    pub ifi_ipackets: u64,
    /// Input errors (malformed frames).
    pub ifi_ierrors: u64,
    /// Frames sent.
    pub ifi_opackets: u64,
    /// Output errors.
    pub ifi_oerrors: u64,
    /// Bytes received.
    pub ifi_ibytes: u64,
    /// Bytes sent.
    pub ifi_obytes: u64,
    /// Multicast/broadcast frames received.
    pub ifi_imcasts: u64,
    /// Multicast/broadcast frames sent.
    pub ifi_omcasts: u64,
    /// Frames dropped on input (queue full).
    pub ifi_iqdrops: u64,
    /// Frames dropped on output (queue full).
    pub ifi_oqdrops: u64,
    /// Frames for a protocol we do not have.
    pub ifi_noproto: u64,
}

/// Something that sees every frame an interface sends and receives (bpf_mtap).
pub trait PacketTap: Send {
    /// A frame passed, at `now` (time since boot).
    fn tap(&mut self, now: std::time::Duration, m: &MbufChain);
}

/// The link type of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfType {
    /// Ethernet (IFT_ETHER): frames carry a 14-byte header.
    Ether,
    /// Loopback (IFT_LOOP): packets are IP datagrams.
    Loop,
}

/// The hardware side of an interface.
pub trait IfDriver: Send {
    /// Send one frame (Ethernet header included for Ethernet interfaces). Called with
    /// the kernel lock held: must not block. The driver owns `m` from here on.
    ///
    /// # Errors
    /// `ENOBUFS` when the hardware cannot take it now (the frame is dropped and counted
    /// by the caller), `ENETDOWN`.
    fn output(&mut self, k: &mut KernelState, m: MbufChain) -> KResult<()>;

    /// The interface went up or down (SIOCSIFFLAGS).
    fn set_up(&mut self, up: bool) {
        let _ = up;
    }

    /// The interface is being detached.
    fn detach(&mut self) {}
}

/// A network interface (`struct ifnet`).
pub struct Ifnet {
    /// Index (1-based, as if_nametoindex).
    pub if_index: usize,
    /// Name ("lo0", "shmif0", "virt0", "mem0").
    pub if_xname: String,
    /// Link type.
    pub if_type: IfType,
    /// IFF_* flags.
    pub if_flags: i32,
    /// MTU (IP datagram size).
    pub if_mtu: u32,
    /// Hardware address (Ethernet).
    pub if_lladdr: [u8; 6],
    /// Counters.
    pub if_data: IfData,
    /// The driver.
    pub if_driver: Box<dyn IfDriver>,
    /// Packet capture, when on.
    pub if_pcap: Option<Box<dyn PacketTap>>,
}

impl Ifnet {
    /// Whether up and running.
    pub fn is_up(&self) -> bool {
        self.if_flags & flags::IFF_UP != 0
    }
}

/// A frame waiting for protocol processing, with the time it may be processed (a link
/// that delays frames sets it; 0 = now).
pub struct InputFrame {
    /// Receiving interface.
    pub ifindex: usize,
    /// The frame.
    pub m: MbufChain,
    /// Earliest clock tick to process it at.
    pub not_before: u64,
}

struct NetisrInner {
    q: VecDeque<InputFrame>,
    drops: u64,
    halted: bool,
    /// A thread is running protocol input for frames it took from here: the netisr
    /// thread, or a driver's receive thread dispatching directly. One at a time, so
    /// frames are processed in the order they were queued.
    busy: bool,
}

/// The input queue of one kernel (ipintrq / pktqueue).
pub struct NetisrQueue {
    inner: Mutex<NetisrInner>,
    cv: Condvar,
    maxlen: usize,
}

impl NetisrQueue {
    /// An empty queue.
    pub fn new(maxlen: usize) -> Arc<Self> {
        Arc::new(NetisrQueue {
            inner: Mutex::new(NetisrInner {
                q: VecDeque::new(),
                drops: 0,
                halted: false,
                busy: false,
            }),
            cv: Condvar::new(),
            maxlen,
        })
    }

    /// Queue a frame; false (and counted) when the queue is full.
    pub fn enqueue(&self, f: InputFrame) -> bool {
        self.enqueue1(f, true)
    }

    fn enqueue1(&self, f: InputFrame, wake: bool) -> bool {
        let mut g = self.inner.lock();
        if g.q.len() >= self.maxlen {
            g.drops += 1;
            return false;
        }
        let was_empty = g.q.is_empty();
        g.q.push_back(f);
        let busy = g.busy;
        drop(g);
        if wake && was_empty && !busy {
            self.cv.notify_one();
        }
        true
    }

    /// Take everything queued to process it on the calling thread, unless another
    /// thread is processing (then false: that one, or the netisr thread after it, will
    /// see the frames). A true return must be followed by [`Self::done`].
    pub fn claim(&self, out: &mut VecDeque<InputFrame>) -> bool {
        let mut g = self.inner.lock();
        if g.busy || g.halted {
            return false;
        }
        g.busy = true;
        std::mem::swap(&mut g.q, out);
        true
    }

    /// The claimed frames are processed: frames queued meanwhile go to the netisr
    /// thread.
    pub fn done(&self) {
        let mut g = self.inner.lock();
        g.busy = false;
        let more = !g.q.is_empty();
        drop(g);
        if more {
            self.cv.notify_one();
        }
    }

    /// Take everything queued (without waiting).
    pub fn take_all(&self, out: &mut VecDeque<InputFrame>) {
        let mut g = self.inner.lock();
        std::mem::swap(&mut g.q, out);
    }

    /// Wait until something is queued or the queue is halted; false when halted.
    /// The caller processes what it got, then calls [`Self::done`].
    pub fn wait(&self, out: &mut VecDeque<InputFrame>) -> bool {
        let mut g = self.inner.lock();
        while (g.q.is_empty() || g.busy) && !g.halted {
            self.cv.wait(&mut g);
        }
        g.busy = true;
        std::mem::swap(&mut g.q, out);
        !g.halted
    }

    /// Wake and stop the waiter for good.
    pub fn halt(&self) {
        self.inner.lock().halted = true;
        self.cv.notify_all();
    }

    /// Wake the netisr thread if frames wait and nobody is processing.
    pub fn kick(&self) {
        let g = self.inner.lock();
        let wake = !g.q.is_empty() && !g.busy;
        drop(g);
        if wake {
            self.cv.notify_one();
        }
    }

    /// Frames dropped because the queue was full.
    pub fn drops(&self) -> u64 {
        self.inner.lock().drops
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().q.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The handle a driver delivers received frames through (if_input).
#[derive(Clone)]
pub struct IfInput {
    pub(crate) q: Arc<NetisrQueue>,
    pub(crate) ifindex: usize,
    /// The receiving kernel, when a sender may run its input itself (an in-process
    /// link; see [`crate::kern::kernel::with_deferred_input`]).
    pub(crate) kernel: Option<std::sync::Weak<crate::kern::kernel::KernelInner>>,
}

/// Input queues a thread filled without waking their netisr threads, to run on this
/// thread once it holds no kernel lock (None: the thread is not deferring).
type DeferredInput = Vec<(
    std::sync::Weak<crate::kern::kernel::KernelInner>,
    Arc<NetisrQueue>,
)>;

thread_local! {
    pub(crate) static DEFERRED_INPUT: std::cell::RefCell<Option<DeferredInput>> =
        const { std::cell::RefCell::new(None) };
}

/// Before a deferring thread sleeps: hand what it deferred to the netisr threads (its
/// sleep may wait on exactly that input's answer). Takes no kernel lock.
pub(crate) fn kick_deferred() {
    let list = DEFERRED_INPUT.with(|d| d.borrow_mut().as_mut().map(std::mem::take));
    for (_, q) in list.into_iter().flatten() {
        q.kick();
    }
}

impl IfInput {
    /// Deliver a received frame now; false if the input queue was full (dropped).
    pub fn input(&self, m: MbufChain) -> bool {
        self.input_at(m, 0)
    }

    /// Deliver a frame that may be processed only from clock tick `not_before` on
    /// (link delay).
    pub fn input_at(&self, m: MbufChain, not_before: u64) -> bool {
        let f = InputFrame {
            ifindex: self.ifindex,
            m,
            not_before,
        };
        if let Some(k) = &self.kernel {
            let deferred = DEFERRED_INPUT.with(|d| {
                let mut d = d.borrow_mut();
                let list = d.as_mut()?;
                if !list.iter().any(|(_, q)| Arc::ptr_eq(q, &self.q)) {
                    list.push((k.clone(), self.q.clone()));
                }
                Some(())
            });
            if deferred.is_some() {
                return self.q.enqueue1(f, false);
            }
        }
        self.q.enqueue(f)
    }

    /// Queue a frame without waking the netisr thread: for a driver's receive thread
    /// that calls [`crate::kern::kernel::netisr_dispatch`] after its batch.
    pub fn input_quiet(&self, m: MbufChain, not_before: u64) -> bool {
        self.q.enqueue1(
            InputFrame {
                ifindex: self.ifindex,
                m,
                not_before,
            },
            false,
        )
    }

    /// The interface this handle delivers to.
    pub fn ifindex(&self) -> usize {
        self.ifindex
    }
}

impl KernelState {
    /// Attach an interface (if_attach); returns its index.
    ///
    /// # Errors
    /// `EEXIST` when the name is taken, `EINVAL` for a name too long.
    pub fn if_attach(
        &mut self,
        name: &str,
        if_type: IfType,
        mtu: u32,
        lladdr: [u8; 6],
        if_flags: i32,
        driver: Box<dyn IfDriver>,
    ) -> KResult<usize> {
        if name.is_empty() || name.len() >= IFNAMSIZ {
            return Err(Errno::EINVAL);
        }
        if self.ifunit(name).is_some() {
            return Err(Errno::EEXIST);
        }
        let index = self.ifnet.len() + 1;
        self.ifnet.push(Some(Ifnet {
            if_index: index,
            if_xname: name.to_string(),
            if_type,
            if_flags,
            if_mtu: mtu,
            if_lladdr: lladdr,
            if_data: IfData::default(),
            if_driver: driver,
            if_pcap: None,
        }));
        Ok(index)
    }

    /// The interface with a name (ifunit).
    pub fn ifunit(&self, name: &str) -> Option<usize> {
        self.ifnet
            .iter()
            .flatten()
            .find(|i| i.if_xname == name)
            .map(|i| i.if_index)
    }

    /// The interface with an index.
    pub fn ifp(&self, index: usize) -> Option<&Ifnet> {
        self.ifnet.get(index.checked_sub(1)?)?.as_ref()
    }

    /// The interface with an index, mutably.
    pub fn ifp_mut(&mut self, index: usize) -> Option<&mut Ifnet> {
        self.ifnet.get_mut(index.checked_sub(1)?)?.as_mut()
    }

    /// Names of every interface, in index order.
    pub fn if_names(&self) -> Vec<String> {
        self.ifnet
            .iter()
            .flatten()
            .map(|i| i.if_xname.clone())
            .collect()
    }

    /// Hand a frame to an interface's driver, counting it and capturing it (if_output's
    /// last step). The chain belongs to the driver afterwards.
    pub fn if_transmit(&mut self, index: usize, m: MbufChain) -> KResult<()> {
        let host = &self.host;
        let Some(ifp) = self
            .ifnet
            .get_mut(index.wrapping_sub(1))
            .and_then(|i| i.as_mut())
        else {
            return Err(Errno::ENXIO);
        };
        if !ifp.is_up() {
            ifp.if_data.ifi_oerrors += 1;
            return Err(Errno::ENETDOWN);
        }
        let len = m.len() as u64;
        if let Some(bpf) = ifp.if_pcap.as_mut() {
            bpf.tap(host.clock_monotonic(), &m);
        }
        // The driver needs the kernel state too (loopback requeues); take it out of
        // the table for the call.
        let mut drv = std::mem::replace(&mut ifp.if_driver, Box::new(NullDriver));
        let r = drv.output(self, m);
        let ifp = self
            .ifp_mut(index)
            .expect("interface vanished during output");
        ifp.if_driver = drv;
        match r {
            Ok(()) => {
                ifp.if_data.ifi_opackets += 1;
                ifp.if_data.ifi_obytes += len;
                Ok(())
            }
            Err(e) => {
                ifp.if_data.ifi_oqdrops += 1;
                Err(e)
            }
        }
    }
}

/// Stands in for a driver while it runs.
struct NullDriver;

impl IfDriver for NullDriver {
    fn output(&mut self, _k: &mut KernelState, _m: MbufChain) -> KResult<()> {
        Err(Errno::ENETDOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kern::mbuf::MbufPool;

    fn frame(pool: &MbufPool, tag: u8) -> InputFrame {
        InputFrame {
            ifindex: 1,
            m: MbufChain::from_slice(pool, &[tag; 20], 0).unwrap(),
            not_before: 0,
        }
    }

    #[test]
    fn one_thread_at_a_time_takes_input_in_queue_order() {
        let pool = MbufPool::new(64);
        let q = NetisrQueue::new(8);
        assert!(q.enqueue1(frame(&pool, 1), false));
        let mut a = VecDeque::new();
        assert!(q.claim(&mut a), "an idle queue can be claimed");
        assert_eq!(a.len(), 1);
        // While claimed, later frames wait: nobody else may take them.
        assert!(q.enqueue1(frame(&pool, 2), false));
        let mut b = VecDeque::new();
        assert!(!q.claim(&mut b));
        assert!(b.is_empty());
        q.done();
        // The netisr thread's wait takes them (done() left them queued).
        assert!(q.wait(&mut b));
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].m.to_vec()[0], 2);
        q.done();
        // A full queue drops and counts.
        for i in 0..8 {
            assert!(q.enqueue(frame(&pool, i)));
        }
        assert!(!q.enqueue(frame(&pool, 9)));
        assert_eq!(q.drops(), 1);
        q.halt();
        assert!(!q.claim(&mut b), "a halted queue is not claimed");
    }
}
