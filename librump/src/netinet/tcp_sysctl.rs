//! TCP's sysctl knobs (NetBSD: the `net.inet.tcp` part of tcp_usrreq.c's
//! sysctl_net_inet_tcp_setup2).
//!
//! The tree holds the values; TCP reads them by id when a connection is made, so a
//! write affects new connections, as in NetBSD. NetBSD's numbers where NetBSD has the
//! node (tcp_var.h `TCPCTL_*`); `congctl` and `syncookies` are created nodes there
//! (numbered from [`TCPCTL_CREATED`] here) and are found by name.
//!
//! `net.inet.tcp.stats` is NetBSD's array of `TCP_NSTATS` 64-bit counters, indexed by
//! `TCP_STAT_*`, filled from [`TcpStat`] when it is read.

use super::tcp_congctl::{CONGCTL_DEFAULT, CONGCTL_NAMES};
use super::tcp_var::{
    tcp_globals, TcpStat, TCPTV_KEEPINTVL, TCPTV_KEEP_IDLE, TCP_KEEPCNT, TCP_RECVSPACE,
    TCP_SENDSPACE, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SACK_PERMIT,
};
use crate::abi::netbsd as nb;
use crate::kern::errno::Errno;
use crate::kern::kern_clock::HZ;
use crate::kern::kern_sysctl::{Sysctl, SysctlId, SysctlValue, CTL_NET};
use crate::kern::kernel::KernelState;

/// `TCPCTL_SENDSPACE`.
pub const TCPCTL_SENDSPACE: i32 = nb::RUMP_TCPCTL_SENDSPACE;
/// `TCPCTL_RECVSPACE`.
pub const TCPCTL_RECVSPACE: i32 = nb::RUMP_TCPCTL_RECVSPACE;
/// `TCPCTL_SACK` (a node; `sack.enable` turns SACK on and off).
pub const TCPCTL_SACK: i32 = nb::RUMP_TCPCTL_SACK;
/// `TCPCTL_WSCALE`.
pub const TCPCTL_WSCALE: i32 = nb::RUMP_TCPCTL_WSCALE;
/// `TCPCTL_TSTAMP`.
pub const TCPCTL_TSTAMP: i32 = nb::RUMP_TCPCTL_TSTAMP;
/// `TCPCTL_KEEPIDLE` (in `slowhz` ticks).
pub const TCPCTL_KEEPIDLE: i32 = nb::RUMP_TCPCTL_KEEPIDLE;
/// `TCPCTL_KEEPINTVL` (in `slowhz` ticks).
pub const TCPCTL_KEEPINTVL: i32 = nb::RUMP_TCPCTL_KEEPINTVL;
/// `TCPCTL_KEEPCNT`.
pub const TCPCTL_KEEPCNT: i32 = nb::RUMP_TCPCTL_KEEPCNT;
/// `TCPCTL_SLOWHZ`: the unit of the keepalive knobs, ticks a second (read-only).
pub const TCPCTL_SLOWHZ: i32 = nb::RUMP_TCPCTL_SLOWHZ;
/// NetBSD's PR_SLOWHZ: the keepalive knobs count half seconds.
pub const PR_SLOWHZ: u64 = 2;
/// `TCPCTL_STATS`.
pub const TCPCTL_STATS: i32 = nb::RUMP_TCPCTL_STATS;
/// First number of the nodes NetBSD creates at run time (CTL_CREATE).
pub const TCPCTL_CREATED: i32 = 0x100;
/// `net.inet.tcp.congctl` (a node: `selected`, `available`).
pub const TCPCTL_CONGCTL: i32 = TCPCTL_CREATED;
/// `net.inet.tcp.syncookies` (FreeBSD's name): answer SYNs with cookies when the SYN
/// cache (a listener's incomplete queue) is full.
pub const TCPCTL_SYNCOOKIES: i32 = TCPCTL_CREATED + 1;

/// `net.inet.tcp.recvbuf_auto`: grow receive buffers with the connection's needs.
pub const TCPCTL_RECVBUF_AUTO: i32 = TCPCTL_CREATED + 2;
/// `net.inet.tcp.recvbuf_max`: the largest a receive buffer grows to.
pub const TCPCTL_RECVBUF_MAX: i32 = TCPCTL_CREATED + 3;
/// `net.inet.tcp.sendbuf_auto`: grow send buffers with the peer's window.
pub const TCPCTL_SENDBUF_AUTO: i32 = TCPCTL_CREATED + 4;
/// `net.inet.tcp.sendbuf_max`: the largest a send buffer grows to.
pub const TCPCTL_SENDBUF_MAX: i32 = TCPCTL_CREATED + 5;
/// Default `recvbuf_max` and `sendbuf_max` (NetBSD's 256 KiB).
pub const TCP_AUTOBUF_MAX: i32 = 256 * 1024;

/// Number of counters in `net.inet.tcp.stats` (`TCP_NSTATS`).
pub const TCP_NSTATS: usize = nb::RUMP_TCP_NSTATS as usize;

/// The ids of TCP's nodes in a kernel's tree.
#[derive(Clone, Copy, Debug)]
pub struct TcpSysctl {
    sendspace: SysctlId,
    recvspace: SysctlId,
    sack: SysctlId,
    wscale: SysctlId,
    tstamp: SysctlId,
    keepidle: SysctlId,
    keepintvl: SysctlId,
    keepcnt: SysctlId,
    stats: SysctlId,
    congctl: SysctlId,
    syncookies: SysctlId,
    recvbuf_auto: SysctlId,
    recvbuf_max: SysctlId,
    sendbuf_auto: SysctlId,
    sendbuf_max: SysctlId,
    mtudisc: SysctlId,
}

fn bool_check(v: &SysctlValue) -> Result<(), Errno> {
    match v {
        SysctlValue::Int(0 | 1) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

fn positive_check(v: &SysctlValue) -> Result<(), Errno> {
    match v {
        SysctlValue::Int(n) if *n > 0 => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// Socket buffers: at least a segment, at most what a scaled window can announce.
fn space_check(v: &SysctlValue) -> Result<(), Errno> {
    match v {
        SysctlValue::Int(n) if (512..=(1 << 28)).contains(n) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

fn congctl_check(v: &SysctlValue) -> Result<(), Errno> {
    match v {
        SysctlValue::Str(s) if CONGCTL_NAMES.contains(&s.as_str()) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// Register TCP's nodes (at inet attach).
///
/// # Errors
/// `EEXIST` when a node is already there (TCP attached twice).
pub fn tcp_sysctl_setup(s: &mut Sysctl) -> Result<TcpSysctl, Errno> {
    let net = ("net", CTL_NET);
    let inet = ("inet", nb::RUMP_PF_INET);
    let tcp = ("tcp", nb::RUMP_IPPROTO_TCP);
    let int = |s: &mut Sysctl, name: &'static str, num: i32, v: i32, check| {
        s.register(
            &[net, inet, tcp, (name, num)],
            SysctlValue::Int(v),
            true,
            Some(check),
        )
    };
    let slow = |ticks: u64| (ticks * PR_SLOWHZ / HZ) as i32;
    let sendspace = int(
        s,
        "sendspace",
        TCPCTL_SENDSPACE,
        TCP_SENDSPACE as i32,
        space_check,
    )?;
    let recvspace = int(
        s,
        "recvspace",
        TCPCTL_RECVSPACE,
        TCP_RECVSPACE as i32,
        space_check,
    )?;
    let sack = s.register(
        &[net, inet, tcp, ("sack", TCPCTL_SACK), ("enable", 1)],
        SysctlValue::Int(1),
        true,
        Some(bool_check),
    )?;
    let wscale = int(s, "win_scale", TCPCTL_WSCALE, 1, bool_check)?;
    let tstamp = int(s, "timestamps", TCPCTL_TSTAMP, 1, bool_check)?;
    let keepidle = int(
        s,
        "keepidle",
        TCPCTL_KEEPIDLE,
        slow(TCPTV_KEEP_IDLE),
        positive_check,
    )?;
    let keepintvl = int(
        s,
        "keepintvl",
        TCPCTL_KEEPINTVL,
        slow(TCPTV_KEEPINTVL),
        positive_check,
    )?;
    let keepcnt = int(
        s,
        "keepcnt",
        TCPCTL_KEEPCNT,
        TCP_KEEPCNT as i32,
        positive_check,
    )?;
    s.register(
        &[net, inet, tcp, ("slowhz", TCPCTL_SLOWHZ)],
        SysctlValue::Int(PR_SLOWHZ as i32),
        false,
        None,
    )?;
    let syncookies = int(s, "syncookies", TCPCTL_SYNCOOKIES, 1, bool_check)?;
    let recvbuf_auto = int(s, "recvbuf_auto", TCPCTL_RECVBUF_AUTO, 1, bool_check)?;
    let recvbuf_max = int(
        s,
        "recvbuf_max",
        TCPCTL_RECVBUF_MAX,
        TCP_AUTOBUF_MAX,
        space_check,
    )?;
    let sendbuf_auto = int(s, "sendbuf_auto", TCPCTL_SENDBUF_AUTO, 1, bool_check)?;
    let sendbuf_max = int(
        s,
        "sendbuf_max",
        TCPCTL_SENDBUF_MAX,
        TCP_AUTOBUF_MAX,
        space_check,
    )?;
    // An IP knob, registered here because TCP is its only user (DF on its segments).
    let mtudisc = s.register(
        &[
            net,
            inet,
            ("ip", nb::RUMP_IPPROTO_IP),
            ("mtudisc", nb::RUMP_IPCTL_MTUDISC),
        ],
        SysctlValue::Int(1),
        true,
        Some(bool_check),
    )?;
    let stats = s.register(
        &[net, inet, tcp, ("stats", TCPCTL_STATS)],
        SysctlValue::Struct(vec![0; TCP_NSTATS * 8]),
        false,
        None,
    )?;
    let cc = ("congctl", TCPCTL_CONGCTL);
    let congctl = s.register(
        &[net, inet, tcp, cc, ("selected", 1)],
        SysctlValue::Str(CONGCTL_DEFAULT.into()),
        true,
        Some(congctl_check),
    )?;
    s.register(
        &[net, inet, tcp, cc, ("available", 2)],
        SysctlValue::Str(CONGCTL_NAMES.join(" ")),
        false,
        None,
    )?;
    Ok(TcpSysctl {
        sendspace,
        recvspace,
        sack,
        wscale,
        tstamp,
        keepidle,
        keepintvl,
        keepcnt,
        stats,
        congctl,
        syncookies,
        recvbuf_auto,
        recvbuf_max,
        sendbuf_auto,
        sendbuf_max,
        mtudisc,
    })
}

/// TCP's defaults for a new connection, read from the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpDefaults {
    /// `sendspace`, bytes.
    pub sendspace: usize,
    /// `recvspace`, bytes.
    pub recvspace: usize,
    /// Offer SACK.
    pub sack: bool,
    /// Ask for window scaling.
    pub wscale: bool,
    /// Ask for timestamps.
    pub tstamp: bool,
    /// Keepalive idle time, ticks.
    pub keepidle: u64,
    /// Keepalive probe interval, ticks.
    pub keepintvl: u64,
    /// Keepalive probes.
    pub keepcnt: u32,
    /// Congestion control algorithm.
    pub congctl: &'static str,
    /// Answer SYNs with cookies when the SYN cache is full.
    pub syncookies: bool,
    /// Path MTU discovery: send with DF and shrink the MSS on need-frag.
    pub mtudisc: bool,
}

impl Default for TcpDefaults {
    fn default() -> Self {
        TcpDefaults {
            sendspace: TCP_SENDSPACE,
            recvspace: TCP_RECVSPACE,
            sack: true,
            wscale: true,
            tstamp: true,
            keepidle: TCPTV_KEEP_IDLE,
            keepintvl: TCPTV_KEEPINTVL,
            keepcnt: TCP_KEEPCNT,
            congctl: CONGCTL_DEFAULT,
            syncookies: true,
            mtudisc: true,
        }
    }
}

impl TcpDefaults {
    /// The `TF_*` flags for what a SYN of ours asks for.
    pub fn syn_flags(&self) -> u32 {
        let mut f = 0;
        if self.wscale {
            f |= TF_REQ_SCALE;
        }
        if self.tstamp {
            f |= TF_REQ_TSTMP;
        }
        if self.sack {
            f |= TF_SACK_PERMIT;
        }
        f
    }
}

/// The defaults new connections take now (the built-in ones in a kernel without the
/// own stack's sysctl nodes).
pub fn tcp_defaults(k: &mut KernelState) -> TcpDefaults {
    let Some(ids) = tcp_globals(k).and_then(|g| g.sysctl) else {
        return TcpDefaults::default();
    };
    let s = &k.sysctl;
    let congctl = match s.value(ids.congctl) {
        Some(SysctlValue::Str(name)) => CONGCTL_NAMES
            .iter()
            .copied()
            .find(|n| n == name)
            .unwrap_or(CONGCTL_DEFAULT),
        _ => CONGCTL_DEFAULT,
    };
    let ticks = |id| u64::try_from(s.int(id)).unwrap_or(1).max(1) * HZ / PR_SLOWHZ;
    TcpDefaults {
        sendspace: s.int(ids.sendspace).max(512) as usize,
        recvspace: s.int(ids.recvspace).max(512) as usize,
        sack: s.int(ids.sack) != 0,
        wscale: s.int(ids.wscale) != 0,
        tstamp: s.int(ids.tstamp) != 0,
        keepidle: ticks(ids.keepidle),
        keepintvl: ticks(ids.keepintvl),
        keepcnt: s.int(ids.keepcnt).max(1) as u32,
        congctl,
        syncookies: s.int(ids.syncookies) != 0,
        mtudisc: s.int(ids.mtudisc) != 0,
    }
}

/// Whether to answer SYNs with cookies when the SYN cache is full.
pub fn tcp_do_syncookies(k: &mut KernelState) -> bool {
    match tcp_globals(k).and_then(|g| g.sysctl) {
        Some(ids) => k.sysctl.int(ids.syncookies) != 0,
        None => true,
    }
}

/// The size a receive (`rcv`) or send buffer may grow to, None when buffers of that
/// kind do not grow (`recvbuf_auto`, `sendbuf_auto`).
pub fn tcp_autobuf_max(k: &mut KernelState, rcv: bool) -> Option<usize> {
    let ids = tcp_globals(k)?.sysctl?;
    let (on, max) = if rcv {
        (ids.recvbuf_auto, ids.recvbuf_max)
    } else {
        (ids.sendbuf_auto, ids.sendbuf_max)
    };
    (k.sysctl.int(on) != 0).then(|| k.sysctl.int(max).max(512) as usize)
}

/// Before `__sysctl` reads `name`: fill `net.inet.tcp.stats` from the counters.
pub fn tcp_sysctl_refresh(k: &mut KernelState, name: &[i32]) {
    let Some(g) = tcp_globals(k) else {
        return;
    };
    let Some(ids) = g.sysctl else {
        return;
    };
    if k.sysctl.locate_id(name) != Some(ids.stats) {
        return;
    }
    let Some(g) = tcp_globals(k) else {
        return;
    };
    let bytes = tcpstat_array(&g.tcpstat)
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect::<Vec<u8>>();
    let _ = k.sysctl.set(ids.stats, SysctlValue::Struct(bytes));
}

/// The counters in NetBSD's `TCP_STAT_*` order; those we do not keep are 0.
pub fn tcpstat_array(s: &TcpStat) -> [u64; TCP_NSTATS] {
    let mut a = [0u64; TCP_NSTATS];
    let set: [(usize, u64); 48] = [
        (0, s.tcps_connattempt),
        (1, s.tcps_accepts),
        (2, s.tcps_connects),
        (3, s.tcps_drops),
        (4, s.tcps_conndrops),
        (5, s.tcps_closed),
        (7, s.tcps_rttupdated),
        (8, s.tcps_delack),
        (9, s.tcps_timeoutdrop),
        (10, s.tcps_rexmttimeo),
        (11, s.tcps_persisttimeo),
        (12, s.tcps_keeptimeo),
        (13, s.tcps_keepprobe),
        (14, s.tcps_keepdrops),
        (18, s.tcps_sndtotal),
        (19, s.tcps_sndpack),
        (20, s.tcps_sndbyte),
        (21, s.tcps_sndrexmitpack),
        (22, s.tcps_sndrexmitbyte),
        (23, s.tcps_sndacks),
        (24, s.tcps_sndprobe),
        (26, s.tcps_sndwinup),
        (27, s.tcps_sndctrl),
        (28, s.tcps_rcvtotal),
        (29, s.tcps_rcvpack),
        (30, s.tcps_rcvbyte),
        (31, s.tcps_rcvbadsum),
        (32, s.tcps_rcvbadoff),
        (33, s.tcps_rcvmemdrop),
        (34, s.tcps_rcvshort),
        (35, s.tcps_rcvduppack),
        (36, s.tcps_rcvdupbyte),
        (37, s.tcps_rcvpartduppack),
        (39, s.tcps_rcvoopack),
        (40, s.tcps_rcvoobyte),
        (41, s.tcps_rcvpackafterwin),
        (42, s.tcps_rcvbyteafterwin),
        (43, s.tcps_rcvafterclose),
        (44, s.tcps_rcvwinprobe),
        (45, s.tcps_rcvdupack),
        (46, s.tcps_rcvacktoomuch),
        (47, s.tcps_rcvackpack),
        (48, s.tcps_rcvackbyte),
        (49, s.tcps_rcvwinupd),
        (50, s.tcps_pawsdrop),
        (54, s.tcps_noport),
        (55, s.tcps_badsyn),
        (57, s.tcps_sc_added),
    ];
    for (i, v) in set {
        a[i] = v;
    }
    a[58] = s.tcps_sc_recvcookie;
    a[60] = s.tcps_sc_overflowed;
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_have_netbsd_numbers_and_checks() {
        let mut s = Sysctl::new();
        let ids = tcp_sysctl_setup(&mut s).unwrap();
        assert_eq!(
            s.lookup_name("net.inet.tcp.sendspace"),
            Some(vec![4, 2, 6, 2])
        );
        assert_eq!(s.lookup_name("net.inet.tcp.stats"), Some(vec![4, 2, 6, 30]));
        assert_eq!(
            s.lookup_name("net.inet.tcp.congctl.selected"),
            Some(vec![4, 2, 6, 0x100, 1])
        );
        assert_eq!(s.get_int("net.inet.tcp.keepidle"), Some(14400));
        assert_eq!(s.get_int("net.inet.tcp.keepintvl"), Some(150));
        assert_eq!(s.get_int("net.inet.tcp.slowhz"), Some(2));
        assert_eq!(
            s.set(ids.congctl, SysctlValue::Str("vegas".into())),
            Err(Errno::EINVAL)
        );
        assert_eq!(s.set(ids.congctl, SysctlValue::Str("cubic".into())), Ok(()));
        assert_eq!(s.set(ids.sack, SysctlValue::Int(2)), Err(Errno::EINVAL));
        assert_eq!(
            s.set(ids.sendspace, SysctlValue::Int(0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(tcp_sysctl_setup(&mut s).err(), Some(Errno::EEXIST));
    }

    #[test]
    fn stats_array_puts_counters_at_netbsd_indices() {
        let st = TcpStat {
            tcps_connattempt: 1,
            tcps_sndrexmitpack: 21,
            tcps_noport: 54,
            tcps_pawsdrop: 50,
            ..TcpStat::default()
        };
        let a = tcpstat_array(&st);
        assert_eq!((a[0], a[21], a[54], a[50]), (1, 21, 54, 50));
        assert_eq!(a.iter().sum::<u64>(), 1 + 21 + 54 + 50);
    }
}
