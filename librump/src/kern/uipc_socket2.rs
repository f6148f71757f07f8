//! Socket buffers and socket state transitions (NetBSD: uipc_socket2.c).
//!
//! A [`Sockbuf`] queues data between a protocol and the user with a high water mark
//! (how much it may hold) and a low water mark (how much makes it readable or
//! writable). Stream data is one byte sequence; datagrams are records, each with the
//! sender's address. Every state change that a sleeper may wait for goes through one of
//! the `so*` functions here, which do the wakeups.

use std::collections::VecDeque;

use super::errno::{Errno, KResult};
use super::kern_synch::Chan;
use super::kernel::KernelState;
use super::mbuf::MbufChain;
use super::sockaddr::SockAddr;
use super::uipc_socket::{Socket, SocketId, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_ISCONFIRMING};
use super::uipc_socket::{SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTED, SS_ISDISCONNECTING};

/// One record of a receive buffer: a datagram and its sender, or stream bytes.
pub struct SbRecord {
    /// The sender (datagram sockets).
    pub addr: Option<SockAddr>,
    /// The data.
    pub data: MbufChain,
}

/// A socket buffer (`struct sockbuf`).
pub struct Sockbuf {
    /// Bytes held.
    pub sb_cc: usize,
    /// Most bytes it may hold.
    pub sb_hiwat: usize,
    /// Bytes that make it readable/writable.
    pub sb_lowat: usize,
    /// Records (one growing record for streams).
    pub sb_records: VecDeque<SbRecord>,
    /// Datagrams dropped because the buffer was full.
    pub sb_overflowed: u64,
    /// Receive/send timeout (SO_RCVTIMEO/SO_SNDTIMEO); None blocks forever.
    pub sb_timeo: Option<std::time::Duration>,
    /// Storage held: clusters and record overhead (sb_mbcnt).
    pub sb_mbcnt: usize,
    /// Most storage it may hold (sb_mbmax): twice the high water mark, so tiny
    /// datagrams in whole clusters cannot eat memory without bound.
    pub sb_mbmax: usize,
    /// The protocol may grow the buffer with the connection's needs (SB_AUTOSIZE);
    /// cleared when the user sets the size.
    pub sb_autosize: bool,
}

/// Storage a record costs besides its clusters (the address mbuf of BSD).
const SB_RECORD_OVERHEAD: usize = 256;

fn storage(m: &MbufChain) -> usize {
    m.mbuf_count() * crate::kern::mbuf::MCLBYTES
}

impl Sockbuf {
    /// An empty buffer with marks.
    pub fn new(hiwat: usize, lowat: usize) -> Self {
        Sockbuf {
            sb_cc: 0,
            sb_hiwat: hiwat,
            sb_lowat: lowat,
            sb_records: VecDeque::new(),
            sb_overflowed: 0,
            sb_timeo: None,
            sb_mbcnt: 0,
            sb_mbmax: 2 * hiwat,
            sb_autosize: false,
        }
    }

    /// Free space (sbspace).
    pub fn space(&self) -> usize {
        self.sb_hiwat.saturating_sub(self.sb_cc)
    }

    /// Append stream data to the last record (sbappendstream).
    pub fn append_stream(&mut self, m: MbufChain) {
        self.sb_cc += m.len();
        self.sb_mbcnt += storage(&m);
        match self.sb_records.back_mut() {
            Some(r) if r.addr.is_none() => r.data.concat(m),
            _ => self.sb_records.push_back(SbRecord {
                addr: None,
                data: m,
            }),
        }
    }

    /// Append a datagram with its sender (sbappendaddr); false (and counted) if there
    /// is no room.
    pub fn append_addr(&mut self, addr: Option<SockAddr>, m: MbufChain) -> bool {
        let cost = storage(&m) + SB_RECORD_OVERHEAD;
        if m.len() > self.space() || self.sb_mbcnt + cost > self.sb_mbmax.max(cost) {
            self.sb_overflowed += 1;
            return false;
        }
        self.sb_cc += m.len();
        self.sb_mbcnt += cost;
        self.sb_records.push_back(SbRecord { addr, data: m });
        true
    }

    /// Drop `n` bytes from the front of stream data (sbdrop).
    pub fn drop_stream(&mut self, mut n: usize) {
        while n > 0 {
            let Some(r) = self.sb_records.front_mut() else {
                break;
            };
            let take = n.min(r.data.len());
            let before = storage(&r.data);
            r.data.drop_front(take);
            self.sb_mbcnt -= before - storage(&r.data);
            self.sb_cc -= take;
            n -= take;
            if r.data.is_empty() {
                self.sb_records.pop_front();
            }
        }
    }

    /// Remove the first record (sbdroprecord).
    pub fn drop_record(&mut self) -> Option<SbRecord> {
        let r = self.sb_records.pop_front()?;
        self.sb_cc -= r.data.len();
        let cost = storage(&r.data) + SB_RECORD_OVERHEAD;
        self.sb_mbcnt = self.sb_mbcnt.saturating_sub(cost);
        Some(r)
    }

    /// Free everything (sbflush).
    pub fn flush(&mut self) {
        self.sb_records.clear();
        self.sb_cc = 0;
        self.sb_mbcnt = 0;
    }

    /// Set the high water mark (sbreserve), keeping the low mark sane.
    ///
    /// # Errors
    /// `ENOBUFS` for zero or a value above the kernel's limit.
    pub fn reserve(&mut self, cc: usize) -> KResult<()> {
        if cc == 0 || cc > SB_MAX {
            return Err(Errno::ENOBUFS);
        }
        self.sb_hiwat = cc;
        self.sb_mbmax = (2 * cc).min(2 * SB_MAX);
        if self.sb_lowat > self.sb_hiwat {
            self.sb_lowat = self.sb_hiwat;
        }
        Ok(())
    }
}

/// Largest socket buffer (kern.sbmax).
pub const SB_MAX: usize = 16 * 1024 * 1024;

impl KernelState {
    /// The socket behind a handle.
    ///
    /// # Panics
    /// If the handle is stale: protocols must not keep handles of freed sockets.
    pub fn so(&self, so: SocketId) -> &Socket {
        self.sockets.get(so).expect("stale socket handle")
    }

    /// The socket behind a handle, mutably.
    ///
    /// # Panics
    /// If the handle is stale.
    pub fn so_mut(&mut self, so: SocketId) -> &mut Socket {
        self.sockets.get_mut(so).expect("stale socket handle")
    }

    /// Wake readers and pollers (sorwakeup).
    pub fn sorwakeup(&self, so: SocketId) {
        self.wakeup(Chan::SoRcv(so));
        self.selwakeup();
    }

    /// Wake writers and pollers (sowwakeup).
    pub fn sowwakeup(&self, so: SocketId) {
        self.wakeup(Chan::SoSnd(so));
        self.selwakeup();
    }

    /// Wake pollers if any sleep.
    pub fn selwakeup(&self) {
        if self.selwaiters > 0 {
            self.wakeup(Chan::Select);
        }
    }

    /// A connection attempt started (soisconnecting).
    pub fn soisconnecting(&mut self, so: SocketId) {
        let s = self.so_mut(so);
        s.so_state &= !(SS_ISCONNECTED | SS_ISDISCONNECTING);
        s.so_state |= SS_ISCONNECTING;
    }

    /// The connection is up (soisconnected): wake connect(2), or move a new
    /// connection of a listener to its accept queue.
    pub fn soisconnected(&mut self, so: SocketId) {
        let s = self.so_mut(so);
        s.so_state &= !(SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISCONFIRMING);
        s.so_state |= SS_ISCONNECTED;
        if let Some(head) = s.so_head {
            if s.so_onq0 {
                s.so_onq0 = false;
                let h = self.so_mut(head);
                h.so_q0.retain(|&x| x != so);
                h.so_q.push_back(so);
                self.wakeup(Chan::SoTimeo(head));
                self.sorwakeup(head);
            }
        } else {
            self.wakeup(Chan::SoTimeo(so));
            self.sorwakeup(so);
            self.sowwakeup(so);
        }
    }

    /// The connection is closing (soisdisconnecting).
    pub fn soisdisconnecting(&mut self, so: SocketId) {
        let s = self.so_mut(so);
        s.so_state &= !SS_ISCONNECTING;
        s.so_state |= SS_ISDISCONNECTING | SS_CANTRCVMORE | SS_CANTSENDMORE;
        self.wakeup(Chan::SoTimeo(so));
        self.sorwakeup(so);
        self.sowwakeup(so);
    }

    /// The connection is gone (soisdisconnected).
    pub fn soisdisconnected(&mut self, so: SocketId) {
        let s = self.so_mut(so);
        s.so_state &= !(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
        s.so_state |= SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED;
        self.wakeup(Chan::SoTimeo(so));
        self.sorwakeup(so);
        self.sowwakeup(so);
    }

    /// No more data will arrive (socantrcvmore).
    pub fn socantrcvmore(&mut self, so: SocketId) {
        self.so_mut(so).so_state |= SS_CANTRCVMORE;
        self.sorwakeup(so);
    }

    /// No more data may be sent (socantsendmore).
    pub fn socantsendmore(&mut self, so: SocketId) {
        self.so_mut(so).so_state |= SS_CANTSENDMORE;
        self.sowwakeup(so);
    }

    /// Record an asynchronous error for the user (so_error) and wake everyone.
    pub fn soseterror(&mut self, so: SocketId, e: Errno) {
        self.so_mut(so).so_error = Some(e);
        self.wakeup(Chan::SoTimeo(so));
        self.sorwakeup(so);
        self.sowwakeup(so);
    }

    /// A new connection arrived on a listening socket (sonewconn): a socket of the
    /// same protocol and options, on the incomplete queue, or on the complete queue when
    /// `connected`. None when the queue is full. The protocol sets up the control block
    /// of the new socket itself.
    pub fn sonewconn(&mut self, head: SocketId, connected: bool) -> Option<SocketId> {
        let h = self.so(head);
        if h.so_q.len() + h.so_q0.len() > h.so_qlimit * 3 / 2 {
            return None;
        }
        Some(self.sonewconn1(head, connected))
    }

    /// Whether a listener's queue of completed connections is full (the backlog of
    /// listen(2), with BSD's 3/2 slack).
    pub fn so_qfull(&self, head: SocketId) -> bool {
        let h = self.so(head);
        h.so_q.len() > h.so_qlimit * 3 / 2
    }

    /// [`Self::sonewconn`] for a handshake already validated without state (a SYN
    /// cookie): the incomplete queue does not count, only the accept queue bounds it.
    /// The socket starts on the incomplete queue; soisconnected moves it.
    pub fn sonewconn_validated(&mut self, head: SocketId) -> Option<SocketId> {
        if self.so_qfull(head) {
            return None;
        }
        Some(self.sonewconn1(head, false))
    }

    /// [`Self::sonewconn`] for a protocol that bounds its embryonic connections
    /// itself (TCP's SYN cache): at most `q0_limit` on the incomplete queue, and none
    /// while the accept queue is full.
    pub fn sonewconn_incomplete(&mut self, head: SocketId, q0_limit: usize) -> Option<SocketId> {
        if self.so(head).so_q0.len() >= q0_limit || self.so_qfull(head) {
            return None;
        }
        Some(self.sonewconn1(head, false))
    }

    fn sonewconn1(&mut self, head: SocketId, connected: bool) -> SocketId {
        let h = self.so(head);
        let mut s = Socket::new(h.so_family, h.so_type, h.so_protocol, h.so_proto.clone());
        s.so_options = h.so_options & !super::uipc_socket::SO_ACCEPTCONN;
        s.so_linger = h.so_linger;
        s.so_state = h.so_state & super::uipc_socket::SS_NBIO;
        s.so_rcv.sb_hiwat = h.so_rcv.sb_hiwat;
        s.so_snd.sb_hiwat = h.so_snd.sb_hiwat;
        s.so_rcv.sb_autosize = h.so_rcv.sb_autosize;
        s.so_snd.sb_autosize = h.so_snd.sb_autosize;
        s.so_rcv.sb_timeo = h.so_rcv.sb_timeo;
        s.so_snd.sb_timeo = h.so_snd.sb_timeo;
        s.so_head = Some(head);
        s.so_onq0 = !connected;
        let id = self.sockets.insert(s);
        let h = self.so_mut(head);
        if connected {
            h.so_q.push_back(id);
            self.wakeup(Chan::SoTimeo(head));
            self.sorwakeup(head);
        } else {
            h.so_q0.push_back(id);
        }
        id
    }

    /// Free a socket whose protocol has let go of it (sofree).
    pub fn sofree(&mut self, so: SocketId) {
        if let Some(s) = self.sockets.remove(so) {
            if let Some(head) = s.so_head {
                if let Some(h) = self.sockets.get_mut(head) {
                    h.so_q.retain(|&x| x != so);
                    h.so_q0.retain(|&x| x != so);
                }
            }
            // Wake anyone still sleeping on it so they notice it is gone.
            self.wakeup(Chan::SoRcv(so));
            self.wakeup(Chan::SoSnd(so));
            self.wakeup(Chan::SoTimeo(so));
        }
    }
}
