//! The `Kernel` value: all state of one virtual kernel (rump_init's result).
//!
//! Nothing here is global: a process may boot several kernels, each with its own
//! sockets, descriptors, timers and threads (paper section 4.3). The C API has one
//! default kernel and creates more on request (abi/rump.rs, `rump_pub_kernel_create`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use super::callout::CalloutWheel;
use super::descrip::{Filedesc, DEFAULT_MAXFILES};
use super::errno::{Errno, KResult};
use super::kern_clock::{duration_to_ticks, ticks_to_duration, CalloutFn, SoftintFn};
use super::kern_synch::{Chan, SleepTab};
use super::mbuf::MbufPool;
use super::slab::Slab;
use super::uipc_domain::Domain;
use super::uipc_socket::Socket;
use crate::config::NetConfig;
use crate::net::ifnet::{IfInput, InputFrame, NetisrQueue, IFQ_MAXLEN};
use crate::rumpuser::{thread_create, HostHypervisor, Hypervisor};

/// The kernel lock, held.
pub type KGuard<'a> = MutexGuard<'a, KernelState>;

/// Default number of mbuf clusters a kernel may have out at once (kern.mbuf.nmbclusters).
pub const DEFAULT_NMBCLUSTERS: usize = 256 * 1024;

/// How to boot a kernel.
pub struct BootOptions {
    /// The host services (a [`crate::rumpuser::TestHypervisor`] in tests).
    pub hypervisor: Arc<dyn Hypervisor>,
    /// The network (parsed `RUMP_NET`).
    pub net: NetConfig,
    /// Descriptor limit.
    pub maxfiles: usize,
    /// Mbuf cluster limit.
    pub nmbclusters: usize,
    /// The in-memory link that `mem` statements of `net` attach to (the C API passes
    /// its process-wide link); `None`: such statements fail with `ENXIO`.
    pub memlink: Option<Arc<crate::drivers::memlink::MemLink>>,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            hypervisor: Arc::new(HostHypervisor::default()),
            net: NetConfig::default(),
            maxfiles: DEFAULT_MAXFILES,
            nmbclusters: DEFAULT_NMBCLUSTERS,
            memlink: None,
        }
    }
}

/// Everything the kernel lock protects.
pub struct KernelState {
    /// All sockets.
    pub sockets: Slab<Socket>,
    /// The descriptor table of the (single) virtual process.
    pub fd: Filedesc,
    /// Registered domains.
    pub domains: Vec<Arc<Domain>>,
    /// Pending callouts.
    pub callouts: CalloutWheel<CalloutFn>,
    pub(crate) callout_scratch: Vec<(super::callout::CalloutId, CalloutFn)>,
    /// Soft interrupt handlers and their pending bits.
    pub(crate) softints: Vec<(SoftintFn, bool)>,
    pub(crate) softint_pending: usize,
    /// The mbuf pool.
    pub pool: MbufPool,
    /// Threads sleeping in poll/select.
    pub selwaiters: usize,
    /// Host services.
    pub host: Arc<dyn Hypervisor>,
    /// Network interfaces, by index - 1 (detached ones leave None).
    pub ifnet: Vec<Option<crate::net::ifnet::Ifnet>>,
    /// The input queue drivers deliver into.
    pub netisr: Arc<NetisrQueue>,
    /// The kernel's own inet stack (None when booted with sockin).
    pub inet: Option<Box<crate::netinet::InetState>>,
    /// The sysctl tree.
    pub sysctl: crate::kern::kern_sysctl::Sysctl,
    /// Frames whose link delay has not passed yet, in arrival order.
    pub(crate) netisr_delayed: std::collections::VecDeque<InputFrame>,
    sleeptab: Arc<SleepTab>,
    /// The tick read from the host clock during this hold of the kernel lock
    /// ([`NO_TICKS`] until read): BSD's `ticks` is a variable, not a clock read, and
    /// one segment asks for it many times.
    now_cache: std::cell::Cell<u64>,
}

/// `now_cache` holds no tick.
const NO_TICKS: u64 = u64::MAX;

impl KernelState {
    /// Wake the sleepers of a channel.
    pub fn wakeup(&self, chan: Chan) {
        self.sleeptab.wakeup(chan);
    }

    /// Current clock tick: read from the host clock once per hold of the kernel lock
    /// (a hold is short; a sleep drops the lock and forgets the tick).
    pub fn ticks(&self) -> u64 {
        let c = self.now_cache.get();
        if c != NO_TICKS {
            return c;
        }
        let t = duration_to_ticks(self.host.clock_monotonic());
        self.now_cache.set(t);
        t
    }

    /// The lock was just taken (again): the next `ticks()` reads the clock.
    pub(crate) fn clock_forget(&self) {
        self.now_cache.set(NO_TICKS);
    }
}

/// Take the kernel lock of `inner` (every path into the kernel goes through here or
/// [`Kernel::lock`]).
pub(crate) fn klock(inner: &KernelInner) -> KGuard<'_> {
    let g = inner.lock.lock();
    g.clock_forget();
    g
}

pub(crate) struct KernelInner {
    pub(crate) lock: Mutex<KernelState>,
    pub(crate) sleeptab: Arc<SleepTab>,
    pub(crate) host: Arc<dyn Hypervisor>,
    pub(crate) halted: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Called once at halt to stop domain workers (sockin's host poller).
    halt_hooks: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

/// One virtual kernel. Dropping it halts its threads, closes its descriptors and
/// detaches its interfaces' drivers (a memlink port leaves its link).
pub struct Kernel {
    pub(crate) inner: Arc<KernelInner>,
}

impl Kernel {
    /// Boot a kernel (rump_init).
    ///
    /// # Errors
    /// When the network configuration cannot be set up (a host error, an unsupported
    /// statement).
    pub fn boot(opts: BootOptions) -> KResult<Kernel> {
        let sleeptab = Arc::new(SleepTab::default());
        let host = opts.hypervisor.clone();
        let state = KernelState {
            sockets: Slab::new(),
            fd: Filedesc::new(opts.maxfiles),
            domains: Vec::new(),
            callouts: CalloutWheel::new(duration_to_ticks(host.clock_monotonic())),
            callout_scratch: Vec::new(),
            softints: Vec::new(),
            softint_pending: 0,
            pool: MbufPool::new(opts.nmbclusters),
            selwaiters: 0,
            host: host.clone(),
            ifnet: Vec::new(),
            netisr: NetisrQueue::new(IFQ_MAXLEN * 4),
            netisr_delayed: std::collections::VecDeque::new(),
            inet: None,
            sysctl: crate::kern::kern_sysctl::Sysctl::new(),
            sleeptab: sleeptab.clone(),
            now_cache: std::cell::Cell::new(NO_TICKS),
        };
        let k = Kernel {
            inner: Arc::new(KernelInner {
                lock: Mutex::new(state),
                sleeptab,
                host: host.clone(),
                halted: AtomicBool::new(false),
                threads: Mutex::new(Vec::new()),
                halt_hooks: Mutex::new(Vec::new()),
            }),
        };
        if !host.manual_clock() {
            k.start_thread("rump-clock", clock_thread);
            k.start_thread("rump-softint", softint_thread);
            k.start_thread("rump-netisr", netisr_thread);
        }
        crate::config::netconfig_apply(&k, &opts.net, opts.memlink.as_ref())?;
        tracing::debug!(net = ?opts.net, "kernel booted");
        Ok(k)
    }

    /// Boot as `opts` says, with the network from the `RUMP_NET` environment variable
    /// (unset: `lo0` only).
    ///
    /// # Errors
    /// `EINVAL` when `RUMP_NET` does not parse (the message is logged and printed),
    /// or what [`Kernel::boot`] returns.
    pub fn boot_from_env(opts: BootOptions) -> Result<Kernel, (Errno, String)> {
        match std::env::var("RUMP_NET") {
            Ok(s) => Kernel::boot_from_str(&s, opts, "rump_init"),
            Err(std::env::VarError::NotPresent) => Kernel::boot_from_str("", opts, "rump_init"),
            Err(std::env::VarError::NotUnicode(_)) => Err((
                Errno::EINVAL,
                "RUMP_NET: the value is not valid UTF-8".into(),
            )),
        }
    }

    /// Boot as `opts` says, with the network described by `rump_net` in the `RUMP_NET`
    /// grammar (config.rs); `opts.net` is replaced. `who` begins the message of a boot
    /// error.
    ///
    /// # Errors
    /// `EINVAL` when `rump_net` does not parse (the message names the statement), or
    /// what [`Kernel::boot`] returns.
    pub fn boot_from_str(
        rump_net: &str,
        opts: BootOptions,
        who: &str,
    ) -> Result<Kernel, (Errno, String)> {
        let net = NetConfig::parse(rump_net).map_err(|m| (Errno::EINVAL, m))?;
        Kernel::boot(BootOptions { net, ..opts }).map_err(|e| (e, format!("{who}: {e}")))
    }

    fn start_thread(&self, name: &str, f: fn(&KernelInner)) {
        let inner = self.inner.clone();
        let h = thread_create(name, move || f(&inner));
        self.inner.threads.lock().push(h);
    }

    /// Start a kernel thread that runs until halt (kthread_create).
    pub(crate) fn kthread_create<F>(&self, name: &str, f: F)
    where
        F: FnOnce(Arc<KernelInner>) + Send + 'static,
    {
        let inner = self.inner.clone();
        let h = thread_create(name, move || f(inner));
        self.inner.threads.lock().push(h);
    }

    /// Run `f` at halt, before threads are joined.
    pub(crate) fn on_halt(&self, f: Box<dyn FnOnce() + Send>) {
        self.inner.halt_hooks.lock().push(f);
    }

    /// Take the kernel lock.
    pub fn lock(&self) -> KGuard<'_> {
        klock(&self.inner)
    }

    /// Sleep on a channel, releasing the lock (tsleep).
    ///
    /// # Errors
    /// `EWOULDBLOCK` on timeout.
    pub fn tsleep(&self, g: &mut KGuard<'_>, chan: Chan, deadline: Option<Instant>) -> KResult<()> {
        self.inner.sleeptab.tsleep(g, chan, deadline)
    }

    /// The host services this kernel runs on.
    pub fn hypervisor(&self) -> &Arc<dyn Hypervisor> {
        &self.inner.host
    }

    /// Run expired callouts and pending soft interrupts now; with a hand-driven clock
    /// this is how a test makes time pass (after moving its clock).
    pub fn clock_run(&self) {
        let mut g = self.lock();
        let now = g.ticks();
        g.hardclock(now);
        g.softint_run();
    }

    /// Process every received frame that is due (the netisr soft interrupt), in the
    /// caller's thread; with a hand-driven clock this is how a test lets frames arrive.
    /// Returns how many frames were processed.
    pub fn netisr_run(&self) -> usize {
        let q = self.lock().netisr.clone();
        let mut batch = std::collections::VecDeque::new();
        q.take_all(&mut batch);
        let mut g = self.lock();
        netisr_process(&mut g, batch)
    }

    /// Stop the kernel's threads (rump_sys_reboot). Sockets stay as they are.
    pub fn halt(&self) {
        if self.inner.halted.swap(true, Ordering::SeqCst) {
            return;
        }
        self.lock().netisr.halt();
        let hooks: Vec<_> = std::mem::take(&mut *self.inner.halt_hooks.lock());
        for h in hooks {
            h();
        }
        {
            let g = self.lock();
            g.wakeup(Chan::Clock);
            g.wakeup(Chan::Softint);
        }
        let threads: Vec<_> = std::mem::take(&mut *self.inner.threads.lock());
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        self.halt();
        // Close every descriptor so protocols release host resources.
        let fds = self.lock().fd.open_fds();
        for fd in fds {
            let _ = self.close(fd);
        }
        let mut g = self.lock();
        for ifp in g.ifnet.iter_mut().flatten() {
            ifp.if_driver.detach();
        }
    }
}

impl KernelInner {
    pub(crate) fn is_halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }
}

/// The clock thread: sleep until the next callout is due, then run expired callouts
/// (hardclock). No periodic work when nothing is scheduled.
fn clock_thread(k: &KernelInner) {
    let mut g = klock(k);
    while !k.is_halted() {
        let now = g.ticks();
        g.hardclock(now);
        let next = g.callouts.next_deadline();
        let deadline = next.map(|t| {
            let wait = ticks_to_duration(t.saturating_sub(g.ticks()));
            Instant::now() + wait.max(Duration::from_micros(100))
        });
        let _ = k.sleeptab.tsleep(&mut g, Chan::Clock, deadline);
    }
}

/// Run protocol input for a batch of received frames; frames whose link delay has not
/// passed wait in `netisr_delayed` and a callout brings them back.
fn netisr_process(g: &mut KernelState, mut batch: std::collections::VecDeque<InputFrame>) -> usize {
    let now = g.ticks();
    // Delayed frames that are due go first: they arrived earlier.
    let mut n = 0;
    while g
        .netisr_delayed
        .front()
        .is_some_and(|f| f.not_before <= now)
    {
        let f = g.netisr_delayed.pop_front().expect("checked");
        crate::net::if_ethersubr::if_input(g, f.ifindex, f.m);
        n += 1;
    }
    while let Some(f) = batch.pop_front() {
        if f.not_before > now {
            let wait = f.not_before - now;
            // Keep arrival order among delayed frames with the same delay; a frame
            // delayed less than one queued before it overtakes it (that is reordering).
            let pos = g
                .netisr_delayed
                .partition_point(|d| d.not_before <= f.not_before);
            g.netisr_delayed.insert(pos, f);
            g.callout_schedule(
                wait,
                Box::new(|g: &mut KernelState| {
                    netisr_process(g, std::collections::VecDeque::new());
                }),
            );
            continue;
        }
        crate::net::if_ethersubr::if_input(g, f.ifindex, f.m);
        n += 1;
    }
    n
}

/// The netisr thread: protocol input for frames the drivers delivered.
fn netisr_thread(k: &KernelInner) {
    let q = klock(k).netisr.clone();
    let mut batch = std::collections::VecDeque::new();
    while q.wait(&mut batch) {
        if k.is_halted() {
            q.done();
            break;
        }
        let mut g = klock(k);
        netisr_process(&mut g, std::mem::take(&mut batch));
        drop(g);
        q.done();
    }
}

/// Rounds of input a deferring thread runs for other kernels before it hands the rest
/// to their netisr threads.
const DEFERRED_ROUNDS: usize = 32;

/// Run `f` (which takes and drops kernel locks) with input to in-process links
/// deferred: frames sent to another kernel of the process are queued without waking
/// its netisr thread, and once `f` returns (holding no lock) this thread runs that
/// input itself, and the input that produces in turn, for a bounded number of rounds;
/// what is left goes to the netisr threads. A send then costs no thread switch, as
/// Linux's loopback runs the receive side in the sender's softirq.
pub(crate) fn with_deferred_input<R>(f: impl FnOnce() -> R) -> R {
    use crate::net::ifnet::DEFERRED_INPUT;
    let nested = DEFERRED_INPUT.with(|d| {
        let mut d = d.borrow_mut();
        let nested = d.is_some();
        if !nested {
            *d = Some(Vec::new());
        }
        nested
    });
    let r = f();
    if nested {
        return r;
    }
    let take = || DEFERRED_INPUT.with(|d| d.borrow_mut().as_mut().map(std::mem::take));
    let mut pending = take().unwrap_or_default();
    for _ in 0..DEFERRED_ROUNDS {
        if pending.is_empty() {
            break;
        }
        for (k, q) in pending.drain(..) {
            match k.upgrade() {
                Some(k) if !k.is_halted() => netisr_dispatch(&k, &q),
                _ => q.kick(),
            }
        }
        pending = take().unwrap_or_default();
    }
    DEFERRED_INPUT.with(|d| *d.borrow_mut() = None);
    for (_, q) in pending {
        q.kick();
    }
    r
}

/// Protocol input on the calling thread (a driver's receive thread, which holds no
/// kernel lock) for the frames it queued with [`IfInput::input_quiet`], instead of
/// waking the netisr thread: one thread switch less per batch, which is most of a
/// round trip's cost on a busy machine. If another thread is processing input, the
/// frames wait for it (order is kept).
///
/// [`IfInput::input_quiet`]: crate::net::ifnet::IfInput::input_quiet
pub(crate) fn netisr_dispatch(k: &KernelInner, q: &NetisrQueue) {
    let mut batch = std::collections::VecDeque::new();
    if !q.claim(&mut batch) {
        return;
    }
    if !batch.is_empty() {
        let mut g = klock(k);
        netisr_process(&mut g, batch);
    }
    q.done();
}

impl KernelState {
    /// `__sysctl(2)` on this kernel's tree: nodes whose values live elsewhere (the
    /// statistics) are brought up to date first. See [`Sysctl::sysctl`].
    ///
    /// # Errors
    /// As [`Sysctl::sysctl`].
    ///
    /// [`Sysctl::sysctl`]: crate::kern::kern_sysctl::Sysctl::sysctl
    pub fn sysctl_rw(
        &mut self,
        name: &[i32],
        old: Option<&mut [u8]>,
        oldlenp: &mut usize,
        new: Option<&[u8]>,
    ) -> Result<(), crate::kern::errno::Errno> {
        crate::netinet::tcp_sysctl::tcp_sysctl_refresh(self, name);
        self.sysctl.sysctl(name, old, oldlenp, new)
    }

    /// The handle a driver of interface `ifindex` delivers frames through.
    pub fn if_input(&self, ifindex: usize) -> IfInput {
        IfInput {
            q: self.netisr.clone(),
            ifindex,
            kernel: None,
        }
    }
}

/// The soft interrupt thread: run pending soft interrupts.
fn softint_thread(k: &KernelInner) {
    let mut g = klock(k);
    while !k.is_halted() {
        if g.softint_run() == 0 {
            let _ = k.sleeptab.tsleep(&mut g, Chan::Softint, None);
        }
    }
}
