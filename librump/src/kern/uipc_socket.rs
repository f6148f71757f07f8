//! Sockets (NetBSD: uipc_socket.c): creation, connection set-up, sosend and soreceive.
//!
//! The socket layer is protocol independent: it keeps the socket buffers and the
//! connection state, sleeps for the user, and reaches the protocol only through its
//! [`Protosw`]. A blocking call sleeps on the socket's wait channels with the kernel
//! lock released.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::errno::{Errno, KResult};
use super::kern_synch::Chan;
use super::kernel::{KGuard, Kernel};
use super::mbuf::{MbufChain, MAX_HDR};
use super::slab::SlabId;
use super::sockaddr::SockAddr;
use super::uipc_domain::{Detach, Protosw, Sockopt, SoptDir, PR_ATOMIC, PR_CONNREQUIRED};
use super::uipc_domain::{PR_LISTEN, PR_WANTRCVD};
use super::uipc_socket2::{Sockbuf, SB_MAX};
use crate::abi::netbsd as nb;

/// A socket's handle.
pub type SocketId = SlabId;

/// No descriptor refers to the socket any more.
pub const SS_NOFDREF: u32 = 0x001;
/// Connected to a peer.
pub const SS_ISCONNECTED: u32 = 0x002;
/// Connection in progress.
pub const SS_ISCONNECTING: u32 = 0x004;
/// Disconnection in progress.
pub const SS_ISDISCONNECTING: u32 = 0x008;
/// No more sends (shutdown or peer gone).
pub const SS_CANTSENDMORE: u32 = 0x010;
/// No more data will arrive.
pub const SS_CANTRCVMORE: u32 = 0x020;
/// Accepting a connection that is not yet confirmed.
pub const SS_ISCONFIRMING: u32 = 0x200;
/// Disconnected.
pub const SS_ISDISCONNECTED: u32 = 0x800;
/// Non-blocking I/O (FIONBIO, O_NONBLOCK, SOCK_NONBLOCK).
pub const SS_NBIO: u32 = 0x1000;

/// The listening flag in `so_options`.
pub const SO_ACCEPTCONN: i32 = nb::RUMP_SO_ACCEPTCONN;

/// Options that are plain flags in `so_options`.
const SO_FLAG_OPTIONS: &[i32] = &[
    nb::RUMP_SO_DEBUG,
    nb::RUMP_SO_REUSEADDR,
    nb::RUMP_SO_REUSEPORT,
    nb::RUMP_SO_KEEPALIVE,
    nb::RUMP_SO_DONTROUTE,
    nb::RUMP_SO_BROADCAST,
    nb::RUMP_SO_USELOOPBACK,
    nb::RUMP_SO_OOBINLINE,
    nb::RUMP_SO_NOSIGPIPE,
    nb::RUMP_SO_TIMESTAMP,
    nb::RUMP_SO_RERROR,
];

/// A socket (`struct socket`).
pub struct Socket {
    /// Address family.
    pub so_family: i32,
    /// `SOCK_*` type.
    pub so_type: i32,
    /// Protocol number.
    pub so_protocol: i32,
    /// `SO_*` flag options.
    pub so_options: i32,
    /// `SS_*` state.
    pub so_state: u32,
    /// Pending asynchronous error, reported once.
    pub so_error: Option<Errno>,
    /// SO_LINGER time in seconds (when SO_LINGER is set).
    pub so_linger: i32,
    /// Receive buffer.
    pub so_rcv: Sockbuf,
    /// Send buffer.
    pub so_snd: Sockbuf,
    /// The protocol.
    pub so_proto: Arc<dyn Protosw>,
    /// The protocol's control block.
    pub so_pcb: Option<Box<dyn Any + Send>>,
    /// The listening socket this connection came from.
    pub so_head: Option<SocketId>,
    /// On the head's incomplete queue (else complete).
    pub so_onq0: bool,
    /// Connections not yet complete (listening sockets).
    pub so_q0: VecDeque<SocketId>,
    /// Completed connections waiting for accept (listening sockets).
    pub so_q: VecDeque<SocketId>,
    /// Accept queue limit (listen backlog).
    pub so_qlimit: usize,
}

impl Socket {
    /// A fresh, unattached socket.
    pub fn new(family: i32, ty: i32, protocol: i32, proto: Arc<dyn Protosw>) -> Self {
        Socket {
            so_family: family,
            so_type: ty,
            so_protocol: protocol,
            so_options: 0,
            so_state: 0,
            so_error: None,
            so_linger: 0,
            so_rcv: Sockbuf::new(0, 1),
            so_snd: Sockbuf::new(0, 2048),
            so_proto: proto,
            so_pcb: None,
            so_head: None,
            so_onq0: false,
            so_q0: VecDeque::new(),
            so_q: VecDeque::new(),
            so_qlimit: 0,
        }
    }

    /// The protocol's `PR_*` flags.
    pub fn pr_flags(&self) -> u32 {
        self.so_proto.pr_flags()
    }

    /// Whether non-blocking I/O is on.
    pub fn nbio(&self) -> bool {
        self.so_state & SS_NBIO != 0
    }

    /// Reserve buffer space (soreserve).
    ///
    /// # Errors
    /// `ENOBUFS`.
    pub fn soreserve(&mut self, sndcc: usize, rcvcc: usize) -> KResult<()> {
        self.so_snd.reserve(sndcc)?;
        self.so_rcv.reserve(rcvcc)?;
        if self.so_snd.sb_lowat > self.so_snd.sb_hiwat {
            self.so_snd.sb_lowat = self.so_snd.sb_hiwat;
        }
        Ok(())
    }

    /// Readable for poll/select (soreadable).
    pub fn readable(&self) -> bool {
        self.so_rcv.sb_cc >= self.so_rcv.sb_lowat.max(1)
            || (!self.so_rcv.sb_records.is_empty() && self.so_proto.pr_flags() & PR_ATOMIC != 0)
            || self.so_state & SS_CANTRCVMORE != 0
            || !self.so_q.is_empty()
            || self.so_error.is_some()
    }

    /// Writable for poll/select (sowritable).
    pub fn writable(&self) -> bool {
        (self.so_snd.space() >= self.so_snd.sb_lowat
            && (self.so_state & SS_ISCONNECTED != 0
                || self.so_proto.pr_flags() & PR_CONNREQUIRED == 0))
            || self.so_state & SS_CANTSENDMORE != 0
            || self.so_error.is_some()
    }
}

/// When a timeout ends; a timeout too far away to represent is no timeout.
pub(crate) fn deadline(timeo: Option<std::time::Duration>) -> Option<Instant> {
    timeo.and_then(|t| Instant::now().checked_add(t))
}

/// Longest socket timeout in seconds: NetBSD refuses what does not fit an int of
/// ticks (EDOM).
const MAX_TIMEO_SECS: i64 = (i32::MAX as i64) / (crate::kern::kern_clock::HZ as i64);

/// Read a native int option value.
///
/// # Errors
/// `EINVAL` when the value is shorter than an int.
pub fn sockopt_int(data: &[u8]) -> KResult<i32> {
    let b: [u8; 4] = data
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

fn timeval_from(data: &[u8]) -> KResult<Option<std::time::Duration>> {
    // NetBSD struct timeval: i64 tv_sec, i32 tv_usec (+4 pad).
    if data.len() < 12 {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_ne_bytes(data[0..8].try_into().map_err(|_| Errno::EINVAL)?);
    let usec = i32::from_ne_bytes(data[8..12].try_into().map_err(|_| Errno::EINVAL)?);
    if !(0..=MAX_TIMEO_SECS).contains(&sec) || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(
        std::time::Duration::from_secs(sec as u64) + std::time::Duration::from_micros(usec as u64),
    ))
}

fn timeval_to(t: Option<std::time::Duration>) -> Vec<u8> {
    let (sec, usec) = t.map_or((0i64, 0i32), |d| {
        (d.as_secs() as i64, d.subsec_micros() as i32)
    });
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&sec.to_ne_bytes());
    v.extend_from_slice(&usec.to_ne_bytes());
    v.extend_from_slice(&[0; 4]);
    v
}

impl Kernel {
    /// Create a socket (socreate): find the domain and protocol, attach.
    ///
    /// # Errors
    /// `EAFNOSUPPORT`, `EPROTONOSUPPORT`, `EPROTOTYPE`, or the protocol's attach error.
    pub(crate) fn socreate(
        &self,
        g: &mut KGuard<'_>,
        family: i32,
        ty: i32,
        proto: i32,
    ) -> KResult<SocketId> {
        let pr = g.pffinddomain(family)?.findproto(ty, proto)?;
        let protocol = if proto == 0 { pr.pr_protocol() } else { proto };
        let so = g
            .sockets
            .insert(Socket::new(family, ty, protocol, pr.clone()));
        if let Err(e) = pr.attach(g, so, protocol) {
            g.sockets.remove(so);
            return Err(e);
        }
        Ok(so)
    }

    /// Bind (sobind).
    ///
    /// # Errors
    /// From the protocol.
    pub(crate) fn sobind(&self, g: &mut KGuard<'_>, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let pr = g.so(so).so_proto.clone();
        pr.bind(g, so, nam)
    }

    /// Listen (solisten).
    ///
    /// # Errors
    /// `EOPNOTSUPP` for protocols without listen, `EINVAL` when connected.
    pub(crate) fn solisten(&self, g: &mut KGuard<'_>, so: SocketId, backlog: i32) -> KResult<()> {
        let s = g.so(so);
        if s.pr_flags() & PR_LISTEN == 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if s.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING) != 0 {
            return Err(Errno::EINVAL);
        }
        // NetBSD: a negative backlog is 0, a large one is capped at somaxconn.
        let backlog = backlog.clamp(0, nb::RUMP_SOMAXCONN);
        let pr = s.so_proto.clone();
        pr.listen(g, so, backlog)?;
        let s = g.so_mut(so);
        s.so_options |= SO_ACCEPTCONN;
        s.so_qlimit = backlog as usize;
        Ok(())
    }

    /// Connect and, unless non-blocking, wait for the result (soconnect +
    /// sys_connect's sleep).
    ///
    /// # Errors
    /// `EISCONN`, `EALREADY`, `EINPROGRESS` (non-blocking), `ECONNREFUSED`,
    /// `ETIMEDOUT`, `EOPNOTSUPP` on a listening socket.
    pub(crate) fn soconnect(
        &self,
        g: &mut KGuard<'_>,
        so: SocketId,
        nam: &SockAddr,
    ) -> KResult<()> {
        let s = g.so(so);
        if s.so_options & SO_ACCEPTCONN != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if s.so_state & SS_ISCONNECTING != 0 {
            return Err(Errno::EALREADY);
        }
        let connreq = s.pr_flags() & PR_CONNREQUIRED != 0;
        if connreq && s.so_state & SS_ISCONNECTED != 0 {
            return Err(Errno::EISCONN);
        }
        let pr = s.so_proto.clone();
        let nbio = s.nbio();
        if !connreq && s.so_state & SS_ISCONNECTED != 0 {
            // A datagram socket may change its association; AF_UNSPEC dissolves it.
            pr.disconnect(g, so)?;
            if matches!(nam, SockAddr::Unspec) {
                // NetBSD dissolves the association, then refuses the family.
                return Err(Errno::EAFNOSUPPORT);
            }
        }
        g.so_mut(so).so_error = None;
        pr.connect(g, so, nam)?;
        if g.so(so).so_state & SS_ISCONNECTING == 0 {
            return Ok(());
        }
        if nbio {
            return Err(Errno::EINPROGRESS);
        }
        loop {
            let Some(s) = g.sockets.get(so) else {
                return Err(Errno::ECONNABORTED);
            };
            if s.so_state & SS_ISCONNECTING == 0 || s.so_error.is_some() {
                break;
            }
            self.tsleep(g, Chan::SoTimeo(so), None)?;
        }
        let s = g.so_mut(so);
        if let Some(e) = s.so_error.take() {
            s.so_state &= !SS_ISCONNECTING;
            return Err(e);
        }
        Ok(())
    }

    /// Wait for and take a completed connection (sys_accept's loop + soaccept).
    ///
    /// # Errors
    /// `EINVAL` when not listening, `EWOULDBLOCK` when non-blocking and none waits,
    /// `ECONNABORTED`.
    pub(crate) fn soaccept(
        &self,
        g: &mut KGuard<'_>,
        head: SocketId,
    ) -> KResult<(SocketId, SockAddr)> {
        loop {
            let h = g.sockets.get(head).ok_or(Errno::EBADF)?;
            if h.so_options & SO_ACCEPTCONN == 0 {
                return Err(Errno::EINVAL);
            }
            if let Some(e) = h.so_error {
                g.so_mut(head).so_error = None;
                return Err(e);
            }
            if !h.so_q.is_empty() {
                break;
            }
            if h.so_state & SS_CANTRCVMORE != 0 {
                return Err(Errno::ECONNABORTED);
            }
            if h.nbio() {
                return Err(Errno::EWOULDBLOCK);
            }
            let timeo = h.so_rcv.sb_timeo;
            self.tsleep(g, Chan::SoTimeo(head), deadline(timeo))?;
        }
        // Take the connection only if a descriptor will be there for it.
        g.fd.reserve_check()?;
        let so = g.so_mut(head).so_q.pop_front().expect("queue checked");
        g.so_mut(so).so_head = None;
        let pr = g.so(so).so_proto.clone();
        pr.rcvd(g, head);
        match pr.accept(g, so) {
            Ok(peer) => Ok((so, peer)),
            Err(e) => {
                self.soclose(g, so);
                Err(e)
            }
        }
    }

    /// Send (sosend): copy the user's data into mbufs that fit the send buffer and hand
    /// them to the protocol, sleeping for space unless non-blocking. Returns bytes sent.
    ///
    /// # Errors
    /// `EPIPE`, `ENOTCONN`, `EDESTADDRREQ`, `EMSGSIZE`, `EWOULDBLOCK` (nothing sent),
    /// or a pending socket error.
    pub(crate) fn sosend(
        &self,
        g: &mut KGuard<'_>,
        so: SocketId,
        addr: Option<&SockAddr>,
        iov: &[&[u8]],
        flags: i32,
    ) -> KResult<usize> {
        let resid: usize = iov.iter().map(|b| b.len()).sum();
        if flags & nb::RUMP_MSG_OOB != 0 {
            // No protocol here has urgent data.
            return Err(Errno::EOPNOTSUPP);
        }
        let s = g.so(so);
        let atomic = s.pr_flags() & PR_ATOMIC != 0;
        if atomic && resid > s.so_snd.sb_hiwat {
            return Err(Errno::EMSGSIZE);
        }
        let dontwait = flags & nb::RUMP_MSG_DONTWAIT != 0;
        let pool = g.pool.clone();
        let mut sent = 0usize;
        // Position in the iovec.
        let (mut vi, mut vo) = (0usize, 0usize);
        loop {
            let Some(s) = g.sockets.get(so) else {
                return Err(Errno::EPIPE);
            };
            if s.so_state & SS_NOFDREF != 0 {
                return if sent > 0 {
                    Ok(sent)
                } else {
                    Err(Errno::EBADF)
                };
            }
            if s.so_state & SS_CANTSENDMORE != 0 {
                return if sent > 0 {
                    Ok(sent)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            if let Some(e) = s.so_error {
                g.so_mut(so).so_error = None;
                return if sent > 0 { Ok(sent) } else { Err(e) };
            }
            let connreq = s.pr_flags() & PR_CONNREQUIRED != 0;
            if s.so_state & SS_ISCONNECTED == 0 {
                if connreq {
                    return Err(Errno::ENOTCONN);
                } else if addr.is_none() {
                    return Err(Errno::EDESTADDRREQ);
                }
            }
            let left = resid - sent;
            let space = s.so_snd.space();
            let need = if atomic {
                left
            } else {
                left.min(s.so_snd.sb_lowat).max(1)
            };
            if space < need && !(atomic && left == 0) {
                if s.nbio() || dontwait {
                    return if sent > 0 {
                        Ok(sent)
                    } else {
                        Err(Errno::EWOULDBLOCK)
                    };
                }
                let timeo = s.so_snd.sb_timeo;
                match self.tsleep(g, Chan::SoSnd(so), deadline(timeo)) {
                    Ok(()) => continue,
                    Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
                }
            }
            let chunk = if atomic { left } else { left.min(space) };
            let headroom = if atomic { MAX_HDR } else { 0 };
            let mut m = MbufChain::new();
            let mut todo = chunk;
            while todo > 0 {
                let b = &iov[vi][vo..];
                let n = b.len().min(todo);
                if m.mbuf_count() == 0 {
                    m = MbufChain::from_slice(&pool, &b[..n], headroom)?;
                } else {
                    m.append_slice(&pool, &b[..n])?;
                }
                todo -= n;
                vo += n;
                if vo == iov[vi].len() {
                    vi += 1;
                    vo = 0;
                }
            }
            let pr = g.so(so).so_proto.clone();
            pr.send(g, so, m, addr)?;
            sent += chunk;
            if sent >= resid {
                return Ok(sent);
            }
        }
    }

    /// Receive (soreceive): sleep until data, EOF or an error, then copy out. Returns
    /// (bytes, sender, `MSG_*` flags for the user).
    ///
    /// # Errors
    /// `EWOULDBLOCK`, `ENOTCONN`, or a pending socket error.
    pub(crate) fn soreceive(
        &self,
        g: &mut KGuard<'_>,
        so: SocketId,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> KResult<(usize, Option<SockAddr>, i32)> {
        let want: usize = iov.iter().map(|b| b.len()).sum();
        let peek = flags & nb::RUMP_MSG_PEEK != 0;
        let dontwait = flags & nb::RUMP_MSG_DONTWAIT != 0;
        if flags & nb::RUMP_MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if want == 0 {
            // Nothing asked, nothing to wait for (NetBSD: uio_resid == 0).
            return Ok((0, None, 0));
        }
        let mut got = 0usize;
        loop {
            let Some(s) = g.sockets.get(so) else {
                return if got > 0 {
                    Ok((got, None, 0))
                } else {
                    Err(Errno::EBADF)
                };
            };
            if s.so_state & SS_NOFDREF != 0 {
                return Err(Errno::EBADF);
            }
            let atomic = s.pr_flags() & PR_ATOMIC != 0;
            // MSG_WAITALL only when the buffer can ever hold the request (soreceive).
            let waitall =
                flags & nb::RUMP_MSG_WAITALL != 0 && !peek && !atomic && want <= s.so_rcv.sb_hiwat;
            let empty = if atomic {
                s.so_rcv.sb_records.is_empty()
            } else {
                s.so_rcv.sb_cc == 0
            };
            if empty {
                if let Some(e) = s.so_error {
                    if got > 0 {
                        return Ok((got, None, 0));
                    }
                    if !peek {
                        g.so_mut(so).so_error = None;
                    }
                    return Err(e);
                }
                if s.so_state & SS_CANTRCVMORE != 0 || (got > 0 && !waitall) {
                    return Ok((got, None, 0));
                }
                if got == 0
                    && s.pr_flags() & PR_CONNREQUIRED != 0
                    && s.so_state & (SS_ISCONNECTED | SS_ISCONNECTING) == 0
                {
                    return Err(Errno::ENOTCONN);
                }
                if s.nbio() || dontwait {
                    return if got > 0 {
                        Ok((got, None, 0))
                    } else {
                        Err(Errno::EWOULDBLOCK)
                    };
                }
                let timeo = s.so_rcv.sb_timeo;
                if let Err(e) = self.tsleep(g, Chan::SoRcv(so), deadline(timeo)) {
                    return if got > 0 { Ok((got, None, 0)) } else { Err(e) };
                }
                continue;
            }
            let pr = s.so_proto.clone();
            let wantrcvd = s.pr_flags() & PR_WANTRCVD != 0;
            let s = g.so_mut(so);
            if atomic {
                let rec = s.so_rcv.sb_records.front().expect("not empty");
                let len = rec.data.len();
                let addr = rec.addr;
                let n = copy_to_iov_at(&rec.data, 0, iov, 0);
                let mut mflags = 0;
                if n < len {
                    mflags |= nb::RUMP_MSG_TRUNC;
                }
                if !peek {
                    s.so_rcv.drop_record();
                    if wantrcvd {
                        pr.rcvd(g, so);
                    }
                }
                return Ok((n, addr, mflags));
            }
            // Stream: copy what is there, after what this call already copied.
            let mut off_iov = got;
            let mut copied = 0usize;
            for rec in &s.so_rcv.sb_records {
                let n = copy_to_iov_at(&rec.data, 0, iov, off_iov);
                copied += n;
                off_iov += n;
                if off_iov >= want {
                    break;
                }
            }
            if !peek {
                s.so_rcv.drop_stream(copied);
            }
            got += copied;
            if !peek && wantrcvd && copied > 0 {
                pr.rcvd(g, so);
            }
            if peek || !waitall || got >= want {
                return Ok((got, None, 0));
            }
            // MSG_WAITALL: the top of the loop sleeps for the rest, or returns what we
            // have on EOF, an error or a timeout.
        }
    }

    /// shutdown(2) (soshutdown).
    ///
    /// # Errors
    /// `EINVAL` for a bad `how`, `ENOTCONN` when not connected.
    pub(crate) fn soshutdown(&self, g: &mut KGuard<'_>, so: SocketId, how: i32) -> KResult<()> {
        if !(nb::RUMP_SHUT_RD..=nb::RUMP_SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let s = g.so(so);
        if s.pr_flags() & PR_CONNREQUIRED != 0
            && s.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING) == 0
        {
            return Err(Errno::ENOTCONN);
        }
        let pr = s.so_proto.clone();
        if how != nb::RUMP_SHUT_WR {
            // sorflush: discard what is queued and refuse more; the protocol then
            // discards what still arrives.
            let s = g.so_mut(so);
            s.so_rcv.flush();
            g.socantrcvmore(so);
            pr.rcvd(g, so);
        }
        if how != nb::RUMP_SHUT_RD {
            g.socantsendmore(so);
            pr.shutdown(g, so)?;
        }
        Ok(())
    }

    /// Close a socket whose last descriptor went away (soclose): abort connections
    /// waiting on a listener, then detach the protocol.
    pub(crate) fn soclose(&self, g: &mut KGuard<'_>, so: SocketId) {
        // SO_LINGER with a time: wait (lock released) for the send buffer to drain.
        if let Some(s) = g.sockets.get(so) {
            if s.so_options & nb::RUMP_SO_LINGER != 0
                && s.so_linger > 0
                && !s.nbio()
                && s.so_state & SS_ISCONNECTED != 0
            {
                let until = deadline(Some(std::time::Duration::from_secs(s.so_linger as u64)));
                while g
                    .sockets
                    .get(so)
                    .is_some_and(|s| s.so_snd.sb_cc > 0 && s.so_error.is_none())
                {
                    if self.tsleep(g, Chan::SoSnd(so), until).is_err() {
                        break;
                    }
                }
            }
        }
        let Some(s) = g.sockets.get_mut(so) else {
            return;
        };
        s.so_state |= SS_NOFDREF;
        // Threads still sleeping on the socket (through another descriptor that was
        // just closed) wake and find it gone (sorestart).
        g.wakeup(Chan::SoRcv(so));
        g.wakeup(Chan::SoSnd(so));
        g.wakeup(Chan::SoTimeo(so));
        g.selwakeup();
        let Some(s) = g.sockets.get_mut(so) else {
            return;
        };
        let pending: Vec<SocketId> = s.so_q0.drain(..).chain(s.so_q.drain(..)).collect();
        for c in pending {
            if let Some(cs) = g.sockets.get(c) {
                let pr = cs.so_proto.clone();
                pr.abort(g, c);
                g.sofree(c);
            }
        }
        let pr = g.so(so).so_proto.clone();
        if pr.detach(g, so) == Detach::Done {
            g.sofree(so);
        }
    }

    /// setsockopt(2) (sosetopt): socket-level options here, then the protocol.
    ///
    /// # Errors
    /// `ENOPROTOOPT`, `EINVAL`, `EDOM`.
    pub(crate) fn sosetopt(
        &self,
        g: &mut KGuard<'_>,
        so: SocketId,
        mut opt: Sockopt,
    ) -> KResult<()> {
        let pr = g.so(so).so_proto.clone();
        if opt.level != nb::RUMP_SOL_SOCKET {
            return pr.ctloutput(g, so, SoptDir::Set, &mut opt);
        }
        let s = g.so_mut(so);
        match opt.name {
            n if SO_FLAG_OPTIONS.contains(&n) => {
                if sockopt_int(&opt.data)? != 0 {
                    s.so_options |= n;
                } else {
                    s.so_options &= !n;
                }
            }
            nb::RUMP_SO_LINGER => {
                if opt.data.len() < 8 {
                    return Err(Errno::EINVAL);
                }
                let onoff = sockopt_int(&opt.data[0..4])?;
                let secs = sockopt_int(&opt.data[4..8])?;
                if onoff != 0 {
                    if !(0..=i32::from(u16::MAX)).contains(&secs) {
                        return Err(Errno::EDOM);
                    }
                    s.so_options |= nb::RUMP_SO_LINGER;
                    s.so_linger = secs;
                } else {
                    s.so_options &= !nb::RUMP_SO_LINGER;
                    s.so_linger = 0;
                }
            }
            nb::RUMP_SO_SNDBUF
            | nb::RUMP_SO_RCVBUF
            | nb::RUMP_SO_SNDLOWAT
            | nb::RUMP_SO_RCVLOWAT => {
                let v = sockopt_int(&opt.data)?;
                if v < 1 {
                    return Err(Errno::EINVAL);
                }
                let v = v as usize;
                match opt.name {
                    nb::RUMP_SO_SNDBUF => {
                        s.so_snd.reserve(v.min(SB_MAX))?;
                        s.so_snd.sb_autosize = false;
                    }
                    nb::RUMP_SO_RCVBUF => {
                        s.so_rcv.reserve(v.min(SB_MAX))?;
                        s.so_rcv.sb_autosize = false;
                    }
                    nb::RUMP_SO_SNDLOWAT => s.so_snd.sb_lowat = v.min(s.so_snd.sb_hiwat),
                    _ => s.so_rcv.sb_lowat = v.min(s.so_rcv.sb_hiwat),
                }
            }
            nb::RUMP_SO_SNDTIMEO => s.so_snd.sb_timeo = timeval_from(&opt.data)?,
            nb::RUMP_SO_RCVTIMEO => s.so_rcv.sb_timeo = timeval_from(&opt.data)?,
            _ => return Err(Errno::ENOPROTOOPT),
        }
        // The protocol sees socket-level options too (sockin passes them to the host).
        match pr.ctloutput(g, so, SoptDir::Set, &mut opt) {
            Ok(()) | Err(Errno::ENOPROTOOPT) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// getsockopt(2) (sogetopt); returns the value in the NetBSD layout.
    ///
    /// # Errors
    /// `ENOPROTOOPT`.
    pub(crate) fn sogetopt(
        &self,
        g: &mut KGuard<'_>,
        so: SocketId,
        level: i32,
        name: i32,
    ) -> KResult<Vec<u8>> {
        let pr = g.so(so).so_proto.clone();
        if level != nb::RUMP_SOL_SOCKET {
            let mut opt = Sockopt {
                level,
                name,
                data: Vec::new(),
            };
            pr.ctloutput(g, so, SoptDir::Get, &mut opt)?;
            return Ok(opt.data);
        }
        let s = g.so_mut(so);
        let int = |v: i32| v.to_ne_bytes().to_vec();
        Ok(match name {
            n if SO_FLAG_OPTIONS.contains(&n) || n == SO_ACCEPTCONN => {
                int(i32::from(s.so_options & n != 0))
            }
            nb::RUMP_SO_LINGER => {
                let mut v = int(i32::from(s.so_options & nb::RUMP_SO_LINGER != 0));
                v.extend_from_slice(&s.so_linger.to_ne_bytes());
                v
            }
            nb::RUMP_SO_TYPE => int(s.so_type),
            nb::RUMP_SO_ERROR => int(s.so_error.take().map_or(0, |e| e.0)),
            nb::RUMP_SO_SNDBUF => int(s.so_snd.sb_hiwat as i32),
            nb::RUMP_SO_RCVBUF => int(s.so_rcv.sb_hiwat as i32),
            nb::RUMP_SO_SNDLOWAT => int(s.so_snd.sb_lowat as i32),
            nb::RUMP_SO_RCVLOWAT => int(s.so_rcv.sb_lowat as i32),
            nb::RUMP_SO_OVERFLOWED => int(s.so_rcv.sb_overflowed as i32),
            nb::RUMP_SO_SNDTIMEO => timeval_to(s.so_snd.sb_timeo),
            nb::RUMP_SO_RCVTIMEO => timeval_to(s.so_rcv.sb_timeo),
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }
}

/// Copy a chain (from `moff`) into an iovec starting at byte `ioff` of the iovec.
fn copy_to_iov_at(m: &MbufChain, moff: usize, iov: &mut [&mut [u8]], mut ioff: usize) -> usize {
    let mut copied = 0;
    let mut moff = moff;
    for b in iov.iter_mut() {
        if ioff >= b.len() {
            ioff -= b.len();
            continue;
        }
        let dst = &mut b[ioff..];
        ioff = 0;
        let n = m.copy_out(moff, dst);
        copied += n;
        moff += n;
        if n < dst.len() {
            break;
        }
    }
    copied
}
