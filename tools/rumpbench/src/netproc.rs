//! Networks of processes (issue #5), beside the Linux kernel in the same run:
//!
//! - (a) TCP bulk between two rump processes on one shmif bus (`ttcp-rump`) vs Linux's
//!   TCP over a veth pair between two network namespaces, MTU 1500 (`ttcp`, the same
//!   source built for the host).
//! - (b) UDP round trips rump↔rump on a shmif bus (`rping` to `echod`) vs Linux over
//!   the veth (this binary's `--udp-ping` to its `--udp-echo`: the same blocking calls),
//!   unpinned and with both ends pinned to CPU 0 (taskset).
//! - (c) TCP bulk between a rump process on a tap and Linux (both directions) vs the
//!   veth.
//! - (d) the cost of one hop through the `router` process: rping's median through the
//!   router minus its median on one bus, over 2 hops (there and back).
//!
//! Without root (CAP_NET_ADMIN) there are no namespaces: Linux runs over loopback, the
//! tap row is skipped, and the table says so. Namespaces, bus files and processes are
//! removed and stopped on the way out, also on an error.

use std::path::PathBuf;
use std::time::Duration;

use crate::procs::{
    c_prog, can_make_namespaces, linux_udp_rtt, rping, ttcp, Ns, Place, Proc, Res, Ttcp, VethPair,
    VETH_B,
};
use crate::stats;

/// Round-trip measurements alternate in this many rounds.
const ROUNDS: usize = 5;

/// TCP transfers run this many times on each side, in turn.
const TCP_ROUNDS: usize = 3;

/// A folder for bus files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Res<TempDir> {
        let d = std::env::temp_dir().join(format!("rumpbench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(TempDir(d))
    }

    fn bus(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nobody on the host listens on (for Linux over loopback).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(5003, |a| a.port())
}

/// `echod` on bus `bus` at `addr` (a /24, gateway `gw` if any), pinned or not.
fn echod(place: Place, bus: &str, addr: &str, gw: Option<&str>) -> Res<Proc> {
    let mut net = format!("shmif {bus} {addr}/24");
    if let Some(gw) = gw {
        net.push_str(&format!("; route default {gw}"));
    }
    let mut p = Proc::start(place, &c_prog("echod")?, &["7"], Some(&net))?;
    p.wait_for("echod ready", Duration::from_secs(10))?;
    Ok(p)
}

/// `p`, pinned to CPU 0.
fn pin(p: Place<'_>) -> Place<'_> {
    Place { cpu: Some(0), ..p }
}

struct Row {
    what: String,
    rump: f64,
    linux: f64,
    /// The target for rump/linux, and whether higher ratios are better.
    target: Option<(f64, bool)>,
}

fn print_rows(rows: &[Row], linux: &str) {
    println!(
        "  {:<50} {:>9} {:>9} {:>7}  target",
        "", "rump", linux, "ratio"
    );
    for r in rows {
        let ratio = r.rump / r.linux;
        let verdict = match r.target {
            Some((t, true)) => {
                format!(">= {t:.1}x  {}", if ratio >= t { "met" } else { "NOT met" })
            }
            Some((t, false)) => {
                format!("<= {t:.1}x  {}", if ratio <= t { "met" } else { "NOT met" })
            }
            None => String::new(),
        };
        println!(
            "  {:<50} {:>9.1} {:>9.1} {:>6.2}x  {verdict}",
            r.what, r.rump, r.linux, ratio
        );
    }
}

pub fn run(quick: bool) -> Res<()> {
    let bytes: usize = if quick { 16 << 20 } else { 256 << 20 };
    let n = if quick { 500 } else { 5000 };
    let dir = TempDir::new()?;
    let root = can_make_namespaces();
    let veth = if root { Some(VethPair::new()?) } else { None };
    let (la, lb, ldst, lname) = match &veth {
        Some(v) => (
            Place {
                ns: Some(&v.a),
                cpu: None,
            },
            Place {
                ns: Some(&v.b),
                cpu: None,
            },
            VETH_B,
            "veth",
        ),
        None => (Place::default(), Place::default(), "127.0.0.1", "loopback"),
    };
    println!(
        "Networks of processes (issue 5): rump processes beside Linux over {}",
        if root {
            "a veth pair between two network namespaces, MTU 1500"
        } else {
            "loopback (not root: no namespaces, no veth, no tap)"
        }
    );
    let mut rows = Vec::new();

    // (a) TCP bulk: two rump processes on one shmif bus vs Linux.
    let bus = dir.bus("tcp");
    let (r_net, t_net) = (
        format!("shmif {bus} 10.0.0.2/24"),
        format!("shmif {bus} 10.0.0.1/24"),
    );
    let here = Place::default();
    let rump_tx = Ttcp {
        place: here,
        prog: "ttcp-rump",
        net: Some(&t_net),
    };
    let rump_rx = Ttcp {
        place: here,
        prog: "ttcp-rump",
        net: Some(&r_net),
    };
    let lport = if root { 5001 } else { free_port() };
    let linux_tx = Ttcp {
        place: la,
        prog: "ttcp",
        net: None,
    };
    let linux_rx = Ttcp {
        place: lb,
        prog: "ttcp",
        net: None,
    };
    // Runs in turn, the median of each side's rates.
    let (mut rump, mut linux) = (Vec::new(), Vec::new());
    for _ in 0..TCP_ROUNDS {
        rump.push(ttcp(&rump_rx, &rump_tx, "10.0.0.2", 5001, bytes)?);
        linux.push(ttcp(&linux_rx, &linux_tx, ldst, lport, bytes)?);
    }
    let (rump_tcp, linux_tcp) = (stats(rump).0, stats(linux).0);
    rows.push(Row {
        what: format!("(a) TCP bulk MB/s, {} MiB: shmif vs {lname}", bytes >> 20),
        rump: rump_tcp,
        linux: linux_tcp,
        target: Some((1.0, true)),
    });

    // (b) UDP round trips, unpinned and pinned to CPU 0.
    let bus = dir.bus("udp");
    let client = format!("shmif {bus} 10.0.0.1/24");
    for pinned in [false, true] {
        let pl = |p: Place<'static>| if pinned { pin(p) } else { p };
        let e = echod(pl(Place::default()), &bus, "10.0.0.2", None)?;
        let (la, lb) = if pinned { (pin(la), pin(lb)) } else { (la, lb) };
        // Rounds of each in turn, so that a change in the machine's load (other
        // builders, say) falls on both sides alike.
        let (mut rump, mut linux) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            rump.extend(rping(
                pl(Place::default()),
                &client,
                "10.0.0.2",
                n / ROUNDS,
            )?);
            linux.extend(linux_udp_rtt(lb, la, ldst, n / ROUNDS)?);
        }
        drop(e);
        let ((rm, _, _), (lm, _, _)) = (stats(rump), stats(linux));
        rows.push(Row {
            what: format!(
                "(b) UDP RTT median us, {n}x: shmif vs {lname}{}",
                if pinned { ", CPU 0" } else { "" }
            ),
            rump: rm,
            linux: lm,
            target: Some((1.0, false)),
        });
    }

    // (c) a rump process on a tap and the Linux kernel, both directions, vs the veth.
    if root {
        let t = Ns::new("t")?;
        t.ip(&["tuntap", "add", "rbt0", "mode", "tap"])?;
        t.ip(&["addr", "add", "10.98.0.1/24", "dev", "rbt0"])?;
        t.ip(&["link", "set", "rbt0", "up"])?;
        let tp = Place {
            ns: Some(&t),
            cpu: None,
        };
        let tap_net = "virtif rbt0 10.98.0.2/24";
        let linux = Ttcp {
            place: tp,
            prog: "ttcp",
            net: None,
        };
        let rump = Ttcp {
            place: tp,
            prog: "ttcp-rump",
            net: Some(tap_net),
        };
        let (mut out, mut inb) = (Vec::new(), Vec::new());
        for _ in 0..TCP_ROUNDS {
            out.push(ttcp(&linux, &rump, "10.98.0.1", 5002, bytes)?);
            inb.push(ttcp(&rump, &linux, "10.98.0.2", 5003, bytes)?);
        }
        let (out, inb) = (stats(out).0, stats(inb).0);
        rows.push(Row {
            what: "(c) TCP bulk MB/s: rump->Linux on a tap vs veth".into(),
            rump: out,
            linux: linux_tcp,
            target: Some((0.5, true)),
        });
        rows.push(Row {
            what: "(c) TCP bulk MB/s: Linux->rump on a tap vs veth".into(),
            rump: inb,
            linux: linux_tcp,
            target: Some((0.5, true)),
        });
    }

    // (d) one hop through the router: routed minus direct, same echod, same time.
    let (a, b) = (dir.bus("ra"), dir.bus("rb"));
    let mut router = Proc::start(
        Place::default(),
        &c_prog("router")?,
        &[],
        Some(&format!(
            "shmif {a} 10.0.1.1/24; shmif {b} 10.0.2.1/24; forward"
        )),
    )?;
    router.wait_for("router ready", Duration::from_secs(10))?;
    let e = echod(Place::default(), &b, "10.0.2.2", Some("10.0.2.1"))?;
    let routed_net = format!("shmif {a} 10.0.1.2/24; route default 10.0.1.1");
    let direct_net = format!("shmif {b} 10.0.2.3/24");
    // Pairs of runs back to back; the cost is the median of the pairs' differences, so
    // that a run that catches the machine busy (its whole run is slower: other
    // builders) does not decide it.
    let (mut routed, mut direct, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    let each = n / ROUNDS / 2;
    for _ in 0..2 * ROUNDS {
        let r = rping(Place::default(), &routed_net, "10.0.2.2", each)?;
        let d = rping(Place::default(), &direct_net, "10.0.2.2", each)?;
        diffs.push(stats(r.clone()).0 - stats(d.clone()).0);
        routed.extend(r);
        direct.extend(d);
    }
    let ((routed, _, _), (direct, _, _)) = (stats(routed), stats(direct));
    let per_hop = stats(diffs).0 / 2.0;
    drop(e);
    drop(router);

    println!();
    print_rows(&rows, lname);
    if !root {
        println!("  (c) tap: SKIPPED, needs root (CAP_NET_ADMIN) and /dev/net/tun");
    }
    println!(
        "  {:<50} {per_hop:>9.1} {:>9} {:>7}  < 5 us  {}",
        "(d) router, us per hop (rping routed - direct) / 2",
        "",
        "",
        if per_hop < 5.0 { "met" } else { "NOT met" }
    );
    println!(
        "      rping medians {routed:.1} us routed, {direct:.1} us direct; per hop: the median of {} back-to-back pairs",
        2 * ROUNDS
    );
    println!(
        "  MB/s: 10^6 bytes/s as ttcp's receiver counts, the median of {TCP_ROUNDS} runs each; RTT: medians, 1 us resolution;"
    );
    println!("  ratio = rump/linux; Linux's numbers in the (c) rows are those of (a)");
    Ok(())
}
