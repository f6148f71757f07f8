//! virtif end to end: a kernel on a host tap device, talking to the Linux kernel on the
//! other side of the tap.
//!
//! Traffic only ever goes to a tap inside a network namespace the test creates itself
//! (`rumpvt<pid>...`, removed afterwards, also when the test fails). The test runs this
//! test binary again inside the namespace (`ip netns exec NS <exe> --exact
//! virtif_child_entry`), selected by the `RUMPNET_VIRTIF_CHILD` variable; the child
//! boots a kernel on tap `rvt0`, configures the Linux side of the tap, and checks ping,
//! UDP and ARP in both directions against Linux and Debian programs (ping, socat or
//! python3), not against our own code.
//!
//! `routed_network_of_processes_on_taps_and_linux_bridges` is the paper's section 4.2
//! setup on taps: the C programs `router`, `echod`, `rping` and `ttcp-rump` (from
//! `make examples`), each its own process and kernel on its own tap, with two Linux
//! bridges in the namespace as the two subnets.
//!
//! Creating taps and namespaces needs root (CAP_NET_ADMIN): without it the namespace
//! tests print "SKIPPED: needs root (CAP_NET_ADMIN)" and return.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rump::abi::netbsd as nb;

mod common;
use rump::config::{IfOptions, NetConfig};
use rump::drivers::virtif::{
    virtif_attach, virtif_set_impairment, virtif_stats, virtif_tapname, VIRTIF_MAC_PREFIX,
};
use rump::kern::kernel::BootOptions;
use rump::kern::sockaddr::SockAddr;
use rump::wire::checksum;
use rump::{Errno, Kernel};

/// The variable that makes `virtif_child_entry` do its work: "net" or "noprivs".
const CHILD_VAR: &str = "RUMPNET_VIRTIF_CHILD";
/// The tap the child attaches to, inside the namespace.
const TAP: &str = "rvt0";
/// A persistent tap the parent makes for uid 0 in the unprivileged child's namespace.
const OWNED_TAP: &str = "rvtown0";
/// The Linux side of the tap.
const LINUX_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The rump side.
const RUMP_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// Longest a child may run before it exits on its own.
const CHILD_LIMIT: Duration = Duration::from_secs(60);
/// Longest the parent waits for a child before killing it.
const PARENT_WAIT: Duration = Duration::from_secs(90);

const SKIP_ROOT: &str = "SKIPPED: needs root (CAP_NET_ADMIN)";

/// Say loudly that a test did not run (it still shows as "ok" in libtest's summary,
/// which cannot count skips; grep the output for "SKIPPED").
fn skip(test: &str, why: &str) {
    let line = "*".repeat(72);
    eprintln!("\n{line}\n*** {test}: {why}\n*** this test was NOT run and did NOT pass\n{line}\n");
    println!("{test}: {why}");
}

/// Whether this process has CAP_NET_ADMIN (bit 12 of CapEff in /proc/self/status).
fn has_net_admin() -> bool {
    let Ok(st) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    st.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 12) != 0)
}

fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run a host command to completion (commands here are bounded by their own
/// timeouts); panics when it cannot start.
fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    eprintln!(
        "$ {} -> {}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run a host command that must succeed.
fn must(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace of this test, deleted on drop (also when the test fails).
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "rumpvt{}{tag}{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        // A leftover of an earlier run with our pid (pids get reused) goes first.
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        must(&["ip", "netns", "add", &name]);
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Kill a process on drop, so a failing test leaves none behind.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Run this test binary's `virtif_child_entry` in namespace `ns` in mode `mode`,
/// behind `wrapper` (a command prefix such as setpriv); wait for it (bounded) and
/// return its output. Panics when it fails or does not report success.
fn run_child(ns: &Netns, mode: &str, wrapper: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.0])
        .args(wrapper)
        .arg(&exe)
        .args([
            "--exact",
            "virtif_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, mode)
        .env_remove("RUMP_NET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Reaper(Some(cmd.spawn().expect("spawn the child")));
    let mut stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    let mut stderr = child.0.as_mut().unwrap().stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.0.as_mut().unwrap().try_wait().unwrap() {
            break Some(st);
        }
        if t.elapsed() > PARENT_WAIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        drop(child.0.take().map(|mut c| {
            let _ = c.kill();
            c.wait()
        }));
    } else {
        child.0.take();
    }
    let out = out_t.join().unwrap();
    let err = err_t.join().unwrap();
    eprintln!("---- child ({mode}) stdout ----\n{out}---- child ({mode}) stderr ----\n{err}----");
    let status = status.unwrap_or_else(|| panic!("the {mode} child ran over {PARENT_WAIT:?}"));
    assert!(status.success(), "the {mode} child failed: {status}");
    assert!(
        out.contains(&format!("VIRTIF CHILD {mode} OK")),
        "the {mode} child did not report success"
    );
    out
}

/// The network namespaces whose name starts with `prefix`.
fn netns_named(prefix: &str) -> Vec<String> {
    let out = run(&["ip", "netns", "list"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn virtif_talks_to_linux_in_a_network_namespace() {
    const TEST: &str = "virtif_talks_to_linux_in_a_network_namespace";
    if !has_net_admin() {
        skip(TEST, SKIP_ROOT);
        return;
    }
    if !have("ip") {
        skip(TEST, "SKIPPED: iproute2's ip(8) is not installed");
        return;
    }
    assert!(
        have("ping"),
        "ping(8) is missing: apt-get install iputils-ping (.ci/run does)"
    );
    let prefix = format!("rumpvt{}net", std::process::id());
    {
        let ns = Netns::new("net");
        run_child(&ns, "net", &[]);
    }
    assert!(
        netns_named(&prefix).is_empty(),
        "the namespace was not removed"
    );
}

#[test]
fn virtif_refuses_bad_tap_names_and_taps_without_privileges() {
    const TEST: &str = "virtif_refuses_bad_tap_names_and_taps_without_privileges";
    // Names the host would cut or refuse never reach it.
    let k = Kernel::boot(BootOptions::default()).unwrap();
    let long = "rvt-name-toolong"; // 16 bytes: no room for the NUL in IFNAMSIZ
    assert_eq!(long.len(), 16);
    let opts = IfOptions::default();
    assert_eq!(virtif_attach(&k, long, &opts), Err(Errno::ENAMETOOLONG));
    assert_eq!(virtif_attach(&k, "", &opts), Err(Errno::EINVAL));
    assert_eq!(virtif_attach(&k, "a/b", &opts), Err(Errno::EINVAL));
    let mtu = IfOptions {
        mtu: Some(9001),
        ..IfOptions::default()
    };
    assert_eq!(virtif_attach(&k, "rvt0", &mtu), Err(Errno::EINVAL));
    assert!(k.lock().ifunit("virt0").is_none());
    drop(k);

    if !has_net_admin() {
        // We are the unprivileged process: check it here, directly.
        unprivileged_checks(&format!("rvtnp{}", std::process::id() % 100_000));
        return;
    }
    if !have("ip") || !have("setpriv") {
        skip(
            TEST,
            "SKIPPED (the unprivileged half): needs ip(8) and setpriv(1) to drop CAP_NET_ADMIN",
        );
        return;
    }
    // As root: drop every capability in a child (in a namespace of our own, so that a
    // tap created by mistake lands there) and check the refusal there, and that a
    // persistent tap made beforehand for the child's user opens without privileges.
    let ns = Netns::new("np");
    must(&[
        "ip", "netns", "exec", &ns.0, "ip", "tuntap", "add", OWNED_TAP, "mode", "tap", "user", "0",
    ]);
    run_child(
        &ns,
        "noprivs",
        &[
            "setpriv",
            "--bounding-set=-all",
            "--inh-caps=-all",
            "--ambient-caps=-all",
            "--no-new-privs",
        ],
    );
}

/// Without CAP_NET_ADMIN, attaching a tap that does not exist fails with EPERM or
/// EACCES: through the driver, through `RUMP_NET` and through the C API.
fn unprivileged_checks(tap: &str) {
    assert!(!has_net_admin(), "still have CAP_NET_ADMIN");
    let k = Kernel::boot(BootOptions::default()).unwrap();
    let e = virtif_attach(&k, tap, &IfOptions::default()).unwrap_err();
    assert!(
        e == Errno::EPERM || e == Errno::EACCES,
        "attaching {tap} without privileges: {e:?}"
    );
    drop(k);
    let net = NetConfig::parse(&format!("virtif {tap} 10.77.1.2/24")).unwrap();
    let e = Kernel::boot(BootOptions {
        net,
        ..BootOptions::default()
    })
    .err()
    .expect("booting on a tap without privileges must fail");
    assert!(e == Errno::EPERM || e == Errno::EACCES, "{e:?}");

    assert_eq!(rump::abi::rump::rump_init(), 0);
    let name = std::ffi::CString::new(tap).unwrap();
    let mut unit: std::os::raw::c_int = -1;
    // SAFETY: a NUL-terminated string and an int that live across the call.
    let r = unsafe { rump::abi::rump::rump_pub_virtif_create(name.as_ptr(), &mut unit) };
    assert!(r == nb::RUMP_EPERM || r == nb::RUMP_EACCES, "{r}");
    assert_eq!(unit, -1);
    // Nothing was created on the host.
    let out = Command::new("ip")
        .args(["link", "show", tap])
        .stderr(Stdio::null())
        .output();
    if let Ok(out) = out {
        assert!(!out.status.success(), "{tap} exists on the host");
    }
    println!("unprivileged: {tap} refused with {e:?} and {r}");
}

/// The helper process, inside a namespace of the parent test. Without the variable
/// (an ordinary test run) it does nothing.
#[test]
fn virtif_child_entry() {
    let Ok(mode) = std::env::var(CHILD_VAR) else {
        return;
    };
    // Bounded whatever happens.
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_LIMIT);
        eprintln!("virtif child: over {CHILD_LIMIT:?}, giving up");
        std::process::exit(3);
    });
    match mode.as_str() {
        "net" => child_net(),
        "noprivs" => {
            unprivileged_checks("rvtnp0");
            // The parent made this tap for our user: it opens without CAP_NET_ADMIN.
            let k = Kernel::boot(BootOptions::default()).unwrap();
            let i = virtif_attach(&k, OWNED_TAP, &IfOptions::default())
                .expect("a tap made for this user opens without privileges");
            assert_eq!(k.lock().ifp(i).unwrap().if_xname, "virt0");
            assert_eq!(virtif_tapname(&k, i).as_deref(), Some(OWNED_TAP));
            println!("unprivileged: {OWNED_TAP}, made for this user, opened as virt0");
        }
        m => panic!("unknown child mode {m}"),
    }
    println!("VIRTIF CHILD {mode} OK");
}

fn sin(a: Ipv4Addr, port: u16) -> SockAddr {
    SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(a, port)))
}

/// Set a socket's receive timeout.
fn rcvtimeo(k: &Kernel, s: i32, t: Duration) {
    let mut tv = [0u8; 16];
    tv[..8].copy_from_slice(&(t.as_secs() as i64).to_ne_bytes());
    tv[8..12].copy_from_slice(&(t.subsec_micros() as i32).to_ne_bytes());
    k.setsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_RCVTIMEO, &tv)
        .unwrap();
}

/// A receive, bounded by the socket's timeout.
fn recv(k: &Kernel, s: i32) -> Result<(Vec<u8>, Option<SockAddr>), Errno> {
    let mut b = vec![0u8; 65536];
    let r = k.recvmsg(s, &mut [&mut b], 0)?;
    b.truncate(r.len);
    Ok((b, r.from))
}

fn echo_request(ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let ck = checksum::result(checksum::data(&m));
    m[2..4].copy_from_slice(&ck.to_be_bytes());
    m
}

fn mac_string(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// How many replies `ping -c N` reports.
fn ping_received(out: &Output) -> u32 {
    let s = String::from_utf8_lossy(&out.stdout);
    s.split(',')
        .find_map(|p| p.trim().strip_suffix(" received"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The child of `virtif_talks_to_linux_in_a_network_namespace`: a kernel on tap `rvt0`
/// (from `RUMP_NET`'s statement, MTU 9000) and Linux on the other side.
fn child_net() {
    let net = NetConfig::parse(&format!("virtif {TAP} {RUMP_IP}/24 mtu 9000")).unwrap();
    let k = Kernel::boot(BootOptions {
        net,
        ..BootOptions::default()
    })
    .unwrap();
    let i = k.lock().ifunit("virt0").expect("virt0");
    assert_eq!(virtif_tapname(&k, i).as_deref(), Some(TAP));
    let lladdr = k.lock().ifp(i).unwrap().if_lladdr;
    assert_eq!(lladdr[..3], VIRTIF_MAC_PREFIX);

    // A second interface on a tap with the longest name the host takes: virt1.
    let j = virtif_attach(&k, "rvt-15-bytes-ok", &IfOptions::default()).unwrap();
    assert_eq!(k.lock().ifp(j).unwrap().if_xname, "virt1");
    let lladdr1 = k.lock().ifp(j).unwrap().if_lladdr;
    assert_ne!(lladdr, lladdr1, "two interfaces, one address");
    must(&["ip", "link", "show", "rvt-15-bytes-ok"]);
    // A name with %d: the host picks the unit.
    let p = virtif_attach(&k, "rvtp%d", &IfOptions::default()).unwrap();
    assert_eq!(virtif_tapname(&k, p).as_deref(), Some("rvtp0"));
    assert_eq!(k.lock().ifp(p).unwrap().if_xname, "virt2");

    // The Linux side of the tap.
    must(&["ip", "link", "set", "lo", "up"]);
    must(&["ip", "link", "set", TAP, "mtu", "9000"]);
    must(&["ip", "link", "set", TAP, "up"]);
    must(&["ip", "addr", "add", &format!("{LINUX_IP}/24"), "dev", TAP]);
    let linux_mac = std::fs::read_to_string(format!("/sys/class/net/{TAP}/address"))
        .unwrap()
        .trim()
        .to_string();

    // Linux pings us: our kernel answers the echo requests (and ARP).
    let out = run(&[
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        "-W",
        "2",
        &RUMP_IP.to_string(),
    ]);
    assert!(out.status.success(), "Linux cannot ping the rump kernel");
    assert_eq!(ping_received(&out), 3);
    assert!(k.lock().inet().unwrap().icmpstat.icps_reflect >= 3);

    // Jumbo frames: 8972 bytes of ICMP payload make a 9000-byte datagram, unfragmented.
    let out = run(&[
        "ping",
        "-c",
        "2",
        "-i",
        "0.2",
        "-W",
        "2",
        "-M",
        "do",
        "-s",
        "8972",
        &RUMP_IP.to_string(),
    ]);
    assert!(out.status.success(), "jumbo ping failed");

    // We ping Linux with a raw ICMP socket.
    let s = k
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_ICMP)
        .unwrap();
    rcvtimeo(&k, s, Duration::from_millis(500));
    let mut got = false;
    'tries: for seq in 0..6u16 {
        k.sendmsg(
            s,
            &[&echo_request(0x7676, seq, b"rump pings linux")],
            Some(&sin(LINUX_IP, 0)),
            0,
        )
        .unwrap();
        for _ in 0..20 {
            match recv(&k, s) {
                Ok((pkt, _)) => {
                    let hl = usize::from(pkt[0] & 0x0f) * 4;
                    let icmp = &pkt[hl..];
                    if icmp[0] == 0 && icmp[4..6] == 0x7676u16.to_be_bytes() {
                        assert_eq!(&icmp[8..], b"rump pings linux");
                        got = true;
                        break 'tries;
                    }
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("raw recv: {e:?}"),
            }
        }
    }
    assert!(got, "no echo reply from Linux");
    k.close(s).unwrap();

    // UDP, Linux to us: a rump echo server, a Debian client.
    let srv = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    k.bind(srv, &sin(Ipv4Addr::UNSPECIFIED, 7)).unwrap();
    rcvtimeo(&k, srv, Duration::from_millis(200));
    let stop = AtomicBool::new(false);
    let answered = std::thread::scope(|sc| {
        let server = sc.spawn(|| {
            let mut n = 0;
            let t = Instant::now();
            while !stop.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(30) {
                match recv(&k, srv) {
                    Ok((d, Some(from))) => {
                        k.sendmsg(srv, &[&d], Some(&from), 0).unwrap();
                        n += 1;
                    }
                    Ok(_) | Err(Errno::EAGAIN) => {}
                    Err(e) => panic!("echo server: {e:?}"),
                }
            }
            n
        });
        let msg = "linux says hello over udp";
        let mut echoed = false;
        for _ in 0..3 {
            if udp_client_linux(RUMP_IP, 7, msg).as_deref() == Some(msg) {
                echoed = true;
                break;
            }
        }
        stop.store(true, Ordering::SeqCst);
        let n = server.join().unwrap();
        assert!(echoed, "the Debian UDP client got no echo");
        n
    });
    assert!(answered >= 1);
    k.close(srv).unwrap();

    // UDP, us to Linux: a Debian echo server, a rump client.
    let server = Reaper(Some(udp_echo_server_linux(LINUX_IP, 7777)));
    let c = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    rcvtimeo(&k, c, Duration::from_millis(500));
    let msg = b"rump says hello over udp";
    let mut echoed = false;
    'udp: for _ in 0..10 {
        match k.sendmsg(c, &[msg], Some(&sin(LINUX_IP, 7777)), 0) {
            Ok(_) | Err(Errno::ECONNREFUSED) => {}
            Err(e) => panic!("udp send: {e:?}"),
        }
        for _ in 0..5 {
            match recv(&k, c) {
                Ok((d, _)) if d == msg => {
                    echoed = true;
                    break 'udp;
                }
                Ok(_) => {}
                // Sent before the server was listening: Linux said port unreachable.
                Err(Errno::EAGAIN) | Err(Errno::ECONNREFUSED) => break,
                Err(e) => panic!("udp recv: {e:?}"),
            }
        }
    }
    drop(server);
    assert!(echoed, "the Debian UDP echo server never answered");
    k.close(c).unwrap();

    // TCP both ways against Linux's TCP, with its options (window scaling, timestamps,
    // SACK) negotiated: a Debian socat on the Linux side, our TCP on the other.
    if have("socat") {
        // rump -> Linux: socat echoes; we send 256 KiB, half-close, read it all back.
        let mut echo = Command::new("socat")
            .args([
                "-T",
                "10",
                &format!("TCP4-LISTEN:7002,bind={LINUX_IP},reuseaddr"),
                "PIPE",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn socat");
        std::thread::sleep(Duration::from_millis(300));
        let c = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
        k.connect(c, &sin(LINUX_IP, 7002))
            .expect("TCP connect to Linux");
        rcvtimeo(&k, c, Duration::from_secs(10));
        assert_linux_options(&k, c);
        let data: Vec<u8> = (0..262_144usize).map(|i| (i * 13 + 5) as u8).collect();
        let mut sent = 0;
        while sent < data.len() {
            sent += k
                .write(c, &data[sent..(sent + 65536).min(data.len())])
                .expect("TCP write");
        }
        k.shutdown(c, nb::RUMP_SHUT_WR).unwrap();
        let mut back = Vec::new();
        let mut b = vec![0u8; 65536];
        for _ in 0..10_000 {
            match k.read(c, &mut b) {
                Ok(0) => break,
                Ok(n) => back.extend_from_slice(&b[..n]),
                Err(e) => panic!("TCP read from Linux: {e:?}"),
            }
        }
        assert!(
            back == data,
            "Linux echoed {} of {} bytes, or differently",
            back.len(),
            data.len()
        );
        k.close(c).unwrap();
        let _ = echo.kill();
        let _ = echo.wait();

        // Linux -> rump: a socat client sends a line to our listener and reads the echo.
        let l = k
            .socket(
                nb::RUMP_AF_INET,
                nb::RUMP_SOCK_STREAM | nb::RUMP_SOCK_NONBLOCK,
                0,
            )
            .unwrap();
        k.bind(l, &sin(Ipv4Addr::UNSPECIFIED, 7001)).unwrap();
        k.listen(l, 4).unwrap();
        let (got, out) = linux_line_echoed(&k, l, 7001, b"hello from linux tcp\n", true);
        assert_eq!(got, b"hello from linux tcp\n");
        assert_eq!(out, b"hello from linux tcp\n", "socat did not get the echo");

        // Linux through a SYN cookie: fill a listener's SYN cache with SYNs from
        // addresses nobody answers for, then Linux's socat connects; its handshake
        // completes with a cookie and the echo works.
        let l = k
            .socket(
                nb::RUMP_AF_INET,
                nb::RUMP_SOCK_STREAM | nb::RUMP_SOCK_NONBLOCK,
                0,
            )
            .unwrap();
        k.bind(l, &sin(Ipv4Addr::UNSPECIFIED, 7003)).unwrap();
        k.listen(l, 1).unwrap();
        for n in 0..40u16 {
            common::inject_tcp(
                &k,
                "virt0",
                [10, 77, 0, 200],
                RUMP_IP.octets(),
                20000 + n,
                7003,
                u32::from(n) * 7919,
                0,
                0x02,
            );
        }
        std::thread::sleep(Duration::from_millis(200));
        let sent_before = k.lock().inet().unwrap().tcp.tcpstat.tcps_sc_sendcookie;
        assert!(sent_before > 0, "the flood filled the SYN cache");
        let (got, out) = linux_line_echoed(&k, l, 7003, b"through a cookie\n", false);
        let st = k.lock().inet().unwrap().tcp.tcpstat.clone();
        assert!(st.tcps_sc_recvcookie >= 1, "{st:?}");
        assert_eq!(got, b"through a cookie\n");
        assert_eq!(out, b"through a cookie\n");
    } else {
        eprintln!("SKIPPED (part): socat not installed: no TCP check against Linux");
    }

    // ARP both ways: we know Linux's address, Linux knows ours.
    let now = k.lock().ticks();
    let mac = k
        .lock()
        .inet()
        .unwrap()
        .arp
        .lookup(LINUX_IP, now)
        .expect("the rump kernel resolved Linux's address");
    assert_eq!(mac_string(mac.0), linux_mac);
    let neigh = must(&["ip", "neigh", "show", &RUMP_IP.to_string(), "dev", TAP]);
    assert!(
        neigh.contains(&format!("lladdr {}", mac_string(lladdr))),
        "Linux did not resolve {RUMP_IP}: {neigh}"
    );
    assert!(!neigh.contains("FAILED") && !neigh.contains("INCOMPLETE"));
    let arp = k.lock().inet().unwrap().arpstat.clone();
    eprintln!("arpstat: {arp:?}");

    // Receive impairment applies: lose everything, and Linux's pings go unanswered.
    let st0 = virtif_stats(&k, i).unwrap();
    virtif_set_impairment(
        &k,
        i,
        &IfOptions {
            loss: 1.0,
            ..IfOptions::default()
        },
    )
    .unwrap();
    let out = run(&[
        "ping",
        "-c",
        "2",
        "-i",
        "0.2",
        "-W",
        "1",
        &RUMP_IP.to_string(),
    ]);
    assert_eq!(ping_received(&out), 0, "a lossy link answered");
    let st1 = virtif_stats(&k, i).unwrap();
    assert!(st1.impair.lost >= 2, "{st1:?}");
    assert_eq!(st1.delivered, st0.delivered);
    virtif_set_impairment(&k, i, &IfOptions::default()).unwrap();

    let st = virtif_stats(&k, i).unwrap();
    eprintln!("virt0: {st:?}");
    assert!(st.opackets >= 8 && st.ipackets >= 10, "{st:?}");
    assert_eq!(st.oerrors, 0);
    assert_eq!(st.runts + st.giants + st.ierrors, 0, "{st:?}");

    // Halting stops the receive threads (the halt joins them) and closing the kernel
    // closes the taps, which were not persistent: they go away.
    let t = Instant::now();
    drop(k);
    eprintln!("halted in {:?}", t.elapsed());
    let mut gone = false;
    for _ in 0..50 {
        let out = Command::new("ip")
            .args(["link", "show", TAP])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if !out.success() {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gone, "{TAP} outlived its kernel");

    // The C API on the default kernel: a tap created, a name too long, a NULL name.
    assert_eq!(rump::abi::rump::rump_init(), 0);
    let name = std::ffi::CString::new("rvtc0").unwrap();
    let mut unit: std::os::raw::c_int = -1;
    // SAFETY: a NUL-terminated string and an int that live across the call.
    let r = unsafe { rump::abi::rump::rump_pub_virtif_create(name.as_ptr(), &mut unit) };
    assert_eq!((r, unit), (0, 0));
    must(&["ip", "link", "show", "rvtc0"]);
    let long = std::ffi::CString::new("rvt-name-toolong").unwrap();
    // SAFETY: as above; a NULL unit is allowed.
    let r = unsafe { rump::abi::rump::rump_pub_virtif_create(long.as_ptr(), std::ptr::null_mut()) };
    assert_eq!(r, nb::RUMP_ENAMETOOLONG);
    // SAFETY: a NULL name is checked by the boundary.
    let r = unsafe { rump::abi::rump::rump_pub_virtif_create(std::ptr::null(), &mut unit) };
    assert_eq!(r, nb::RUMP_EFAULT);
}

/// Send `msg` to `ip:port` from a Debian UDP client (socat, else python3) and return
/// what came back within 3 s.
fn udp_client_linux(ip: Ipv4Addr, port: u16, msg: &str) -> Option<String> {
    let mut cmd = if have("socat") {
        let mut c = Command::new("socat");
        c.args(["-t", "1", "-T", "3", "-", &format!("UDP4:{ip}:{port}")]);
        c
    } else {
        let mut c = Command::new("python3");
        c.args([
            "-c",
            "import socket,sys\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.settimeout(3)\n\
             s.sendto(sys.stdin.buffer.read(),(sys.argv[1],int(sys.argv[2])))\n\
             sys.stdout.buffer.write(s.recvfrom(65536)[0])",
            &ip.to_string(),
            &port.to_string(),
        ]);
        c
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(msg.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    eprintln!(
        "udp client -> {}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A Debian UDP echo server on `ip:port` (socat, else python3) that exits after 10 s
/// of quiet.
fn udp_echo_server_linux(ip: Ipv4Addr, port: u16) -> Child {
    let mut cmd = if have("socat") {
        let mut c = Command::new("socat");
        c.args([
            "-T",
            "10",
            &format!("UDP4-LISTEN:{port},bind={ip},reuseaddr"),
            "PIPE",
        ]);
        c
    } else {
        let mut c = Command::new("python3");
        c.args([
            "-c",
            "import socket,sys\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.bind((sys.argv[1],int(sys.argv[2])))\n\
             s.settimeout(10)\n\
             for _ in range(100):\n    d,a=s.recvfrom(65536); s.sendto(d,a)",
            &ip.to_string(),
            &port.to_string(),
        ]);
        c
    };
    let child = cmd
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn the echo server");
    // Give it a moment to bind; the client retries anyway.
    std::thread::sleep(Duration::from_millis(200));
    child
}

/// A C program of `examples-c/build` (`make examples` builds them; `make test` does).
fn c_prog(name: &str) -> std::path::PathBuf {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples-c/build")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run `make examples` (make test does)",
        p.display()
    );
    p
}

/// Start C program `name` inside namespace `ns` (`ip netns exec` execs it, so the
/// child's PID is the program's) with `RUMP_NET` set to `net`, and wait (bounded) until
/// it writes a line containing `ready` on stdout or stderr. The returned reaper kills it
/// by PID; the rest of its output arrives on the receiver, line by line.
fn start_in_ns(
    ns: &Netns,
    name: &str,
    net: &str,
    args: &[&str],
    ready: &str,
) -> (Reaper, std::sync::mpsc::Receiver<String>) {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.0])
        .arg(c_prog(name))
        .args(args)
        .env("RUMP_NET", net)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let (tx, rx) = std::sync::mpsc::channel();
    for r in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        let tag = name.to_string();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(r).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                // Keep draining after the receiver is gone, so the program never
                // blocks on (or dies of) a full pipe.
                let _ = tx.send(line);
            }
        });
    }
    let reaper = Reaper(Some(child));
    let t = Instant::now();
    loop {
        let left = Duration::from_secs(10).saturating_sub(t.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(ready) => break,
            Ok(_) => {}
            Err(e) => panic!("{name} never said {ready:?} ({e})"),
        }
    }
    (reaper, rx)
}

/// After a failure in the bridged network: ICMP pings (`rping -p`) to each hop from
/// the client's side, and the bridges' view (links and learned addresses), so a rare
/// failure names the hop that broke.
fn bridged_diagnosis(ns: &Netns, client: &str) -> String {
    let mut report = String::new();
    for host in ["10.0.1.1", "10.0.2.1", "10.0.2.2"] {
        let (ok, out) = run_in_ns(
            ns,
            "rping",
            client,
            &["-p", "-c", "3", host],
            Duration::from_secs(20),
        );
        let last = out
            .lines()
            .filter(|l| l.contains("messages sent"))
            .collect::<Vec<_>>();
        report += &format!("\nping {host}: ok={ok} {last:?}");
    }
    for cmd in [&["-s", "link", "show"][..], &["neigh", "show"][..]] {
        if let Ok(o) = Command::new("ip")
            .args(["netns", "exec", &ns.0, "ip"])
            .args(cmd)
            .output()
        {
            report += &format!(
                "\n$ ip {}\n{}",
                cmd.join(" "),
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
    if let Ok(o) = Command::new("ip")
        .args(["netns", "exec", &ns.0, "bridge", "fdb", "show"])
        .output()
    {
        report += &format!(
            "\n$ bridge fdb show\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    report
}

/// Run C program `name` to completion inside `ns` with `RUMP_NET=net`, killed after
/// `limit`; returns (success, stdout + stderr).
fn run_in_ns(ns: &Netns, name: &str, net: &str, args: &[&str], limit: Duration) -> (bool, String) {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.0])
        .arg(c_prog(name))
        .args(args)
        .env("RUMP_NET", net)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Reaper(Some(cmd.spawn().expect("spawn")));
    let t = Instant::now();
    let ok = loop {
        if let Some(st) = child.0.as_mut().unwrap().try_wait().unwrap() {
            break Some(st.success());
        }
        if t.elapsed() > limit {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let c = child.0.take().unwrap();
    let out = match ok {
        Some(_) => c.wait_with_output().unwrap(),
        None => {
            let mut c = c;
            let _ = c.kill();
            c.wait_with_output().unwrap()
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("---- {name} {args:?} ----\n{text}----");
    assert!(ok.is_some(), "{name} {args:?} ran over {limit:?}");
    (ok == Some(true), text)
}

/// The paper's section 4.2 setup (Figures 6 and 7) on taps: three kinds of rump
/// processes, each with its own kernel on its own tap, and two Linux bridges as the two
/// subnets, all inside a network namespace of this test:
///
/// ```text
///  rping 10.0.1.2 (rbA1) ┐                        ┌ (rbB1) 10.0.2.2 echod
///                        ├ brA ─ (rbA0) router (rbB0) ─ brB ┤
///  ttcp -t 10.0.1.3 (rbA2)┘  10.0.1.1      10.0.2.1  └ (rbB2) 10.0.2.3 ttcp -r
/// ```
///
/// The endpoints use the router as their default gateway. rping must get every echo
/// over UDP and over TCP, and ttcp must move 4 MiB, pattern-checked, through the router.
#[test]
fn routed_network_of_processes_on_taps_and_linux_bridges() {
    const TEST: &str = "routed_network_of_processes_on_taps_and_linux_bridges";
    if !has_net_admin() {
        skip(TEST, SKIP_ROOT);
        return;
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        skip(TEST, "SKIPPED: /dev/net/tun is missing");
        return;
    }
    if !have("ip") {
        skip(TEST, "SKIPPED: iproute2's ip(8) is not installed");
        return;
    }
    let prefix = format!("rumpvt{}br", std::process::id());
    {
        let ns = Netns::new("br");
        let inns = |args: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &ns.0];
            v.extend_from_slice(args);
            must(&v);
        };
        inns(&["ip", "link", "set", "lo", "up"]);
        // Persistent taps made beforehand and joined to the bridges, so that a process
        // finds its tap already bridged when it boots (its kernel opens the tap by name).
        for (br, taps) in [
            ("brA", ["rbA0", "rbA1", "rbA2"]),
            ("brB", ["rbB0", "rbB1", "rbB2"]),
        ] {
            inns(&["ip", "link", "add", br, "type", "bridge"]);
            inns(&["ip", "link", "set", br, "up"]);
            for tap in taps {
                inns(&["ip", "tuntap", "add", tap, "mode", "tap"]);
                inns(&["ip", "link", "set", tap, "master", br]);
                inns(&["ip", "link", "set", tap, "up"]);
            }
        }
        let (_router, _router_out) = start_in_ns(
            &ns,
            "router",
            "virtif rbA0 10.0.1.1/24; virtif rbB0 10.0.2.1/24; forward",
            &[],
            "router ready",
        );
        let (_echod, _echod_out) = start_in_ns(
            &ns,
            "echod",
            "virtif rbB1 10.0.2.2/24; route default 10.0.2.1",
            &["7"],
            "echod ready",
        );
        let (mut ttcp_r, ttcp_r_out) = start_in_ns(
            &ns,
            "ttcp-rump",
            "virtif rbB2 10.0.2.3/24; route default 10.0.2.1",
            &["-r", "-s", "-c", "-p", "5001"],
            "ttcp-r: buflen",
        );

        let client = "virtif rbA1 10.0.1.2/24; route default 10.0.1.1";
        let limit = Duration::from_secs(60);
        let (ok, out) = run_in_ns(&ns, "rping", client, &["-c", "20", "10.0.2.2", "7"], limit);
        assert!(
            ok && out.contains("20 messages sent, 20 echoed"),
            "rping (UDP) lost echoes; which hop answers: {}",
            bridged_diagnosis(&ns, client)
        );
        let (ok, out) = run_in_ns(
            &ns,
            "rping",
            client,
            &["-t", "-c", "20", "10.0.2.2", "7"],
            limit,
        );
        assert!(
            ok && out.contains("20 messages sent, 20 echoed"),
            "rping -t (TCP) lost echoes"
        );

        // 4 MiB of TCP from the other subnet, through the router; the receiver checks
        // the pattern (-c) and exits non-zero on a difference.
        let (ok, out) = run_in_ns(
            &ns,
            "ttcp-rump",
            "virtif rbA2 10.0.1.3/24; route default 10.0.1.1",
            &[
                "-t", "-s", "-n", "512", "-l", "8192", "-p", "5001", "10.0.2.3",
            ],
            Duration::from_secs(120),
        );
        assert!(
            ok && out.contains("ttcp-t: bytes=4194304"),
            "ttcp -t failed"
        );
        let t = Instant::now();
        let st = loop {
            if let Some(st) = ttcp_r.0.as_mut().unwrap().try_wait().unwrap() {
                break st;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "ttcp -r did not finish"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        ttcp_r.0.take();
        let mut r_out = String::new();
        while let Ok(l) = ttcp_r_out.recv_timeout(Duration::from_secs(2)) {
            r_out.push_str(&l);
            r_out.push('\n');
        }
        assert!(
            st.success(),
            "ttcp -r (pattern check) failed: {st}\n{r_out}"
        );
        assert!(r_out.contains("ttcp-r: bytes=4194304"), "{r_out}");
        // The reapers stop the router and echod by PID, then the namespace goes, with
        // its bridges and taps.
    }
    assert!(
        netns_named(&prefix).is_empty(),
        "the namespace was not removed"
    );
    let links = must(&["ip", "-o", "link", "show"]);
    assert!(
        !links.contains(": rbA") && !links.contains(": rbB"),
        "a tap of the test outlived its namespace"
    );
}

/// A TCP connection with Linux negotiated what Linux offers by default: window
/// scaling, timestamps and SACK (read back with TCP_INFO).
fn assert_linux_options(k: &Kernel, fd: i32) {
    let info = k
        .getsockopt(fd, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_INFO)
        .expect("TCP_INFO");
    let want =
        (nb::RUMP_TCPI_OPT_TIMESTAMPS | nb::RUMP_TCPI_OPT_SACK | nb::RUMP_TCPI_OPT_WSCALE) as u8;
    assert_eq!(info[5] & want, want, "options with Linux: {:#x}", info[5]);
    // ESTABLISHED, or CLOSE_WAIT once the peer has half-closed.
    assert!(
        [nb::RUMP_TCPS_ESTABLISHED, nb::RUMP_TCPS_CLOSE_WAIT].contains(&i32::from(info[0])),
        "state {}",
        info[0]
    );
    let mss = u32::from_ne_bytes(info[16..20].try_into().unwrap());
    assert!(
        (1200..=8960).contains(&mss),
        "MSS with Linux (MTU 1500 or 9000): {mss}"
    );
}

/// Linux's socat connects to listener `l` (on `port`), sends `line` and half-closes;
/// we accept, echo what comes until EOF, and close both. Returns what we read and what
/// socat printed. `options`: check the connection negotiated Linux's TCP options.
fn linux_line_echoed(
    k: &Kernel,
    l: i32,
    port: u16,
    line: &[u8],
    options: bool,
) -> (Vec<u8>, Vec<u8>) {
    let mut client = Command::new("socat")
        .args(["-T", "5", "-", &format!("TCP4:{RUMP_IP}:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn socat client");
    {
        let mut stdin = client.stdin.take().unwrap();
        stdin.write_all(line).unwrap();
    } // EOF: socat half-closes after sending
    let mut conn = None;
    for _ in 0..500 {
        match k.accept(l, None) {
            Ok((c, _)) => {
                conn = Some(c);
                break;
            }
            Err(Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("accept: {e:?}"),
        }
    }
    let c = conn.expect("Linux never connected");
    if options {
        assert_linux_options(k, c);
    }
    k.fcntl(c, nb::RUMP_F_SETFL, 0).unwrap();
    rcvtimeo(k, c, Duration::from_secs(5));
    let mut got = Vec::new();
    let mut b = vec![0u8; 65536];
    for _ in 0..1000 {
        match k.read(c, &mut b) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&b[..n]);
                k.write(c, &b[..n]).unwrap();
            }
            Err(e) => panic!("read from Linux: {e:?}"),
        }
    }
    k.close(c).unwrap();
    k.close(l).unwrap();
    (got, client.wait_with_output().unwrap().stdout)
}
