//! The C programs, built by `make` against include/ and librump.so, run for real:
//! the echo client and server against host peers on loopback, the macro-wrapped ttcp
//! between two processes and between two kernels of one process, Figure 5's network
//! configuration, and the errno conformance tests.
//!
//! `make test` builds them first; run alone, `make examples` must have run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn prog(rel: &str) -> PathBuf {
    let p = top().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `make examples` (make test does)",
        p.display()
    );
    p
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kill a child on drop, by PID.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} timed out; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn host_tcp_echo(v6: bool) -> u16 {
    let l = TcpListener::bind(if v6 { "[::1]:0" } else { "127.0.0.1:0" }).unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 || c.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    port
}

fn host_udp_echo(v6: bool) -> u16 {
    let s = UdpSocket::bind(if v6 { "[::1]:0" } else { "127.0.0.1:0" }).unwrap();
    let port = s.local_addr().unwrap().port();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n], from);
        }
    });
    port
}

fn echo_client(args: &[&str]) -> Output {
    let mut c = Command::new(prog("examples-c/build/echo_client"));
    c.env("RUMP_NET", "sockin").args(args);
    run_with_timeout(c, Duration::from_secs(60))
}

fn assert_ok(out: &Output, want: &str) {
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && so.contains(want),
        "status {:?}\nstdout:\n{so}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn c_echo_client_tcp_1mib_v4_v6_through_sockin() {
    let p = host_tcp_echo(false).to_string();
    assert_ok(
        &echo_client(&["-b", "1048576", "127.0.0.1", &p]),
        "ok 1048576",
    );
    let p = host_tcp_echo(true).to_string();
    assert_ok(
        &echo_client(&["-6", "-b", "1048576", "::1", &p]),
        "ok 1048576",
    );
}

#[test]
fn c_echo_client_udp_v4_v6_through_sockin() {
    let p = host_udp_echo(false).to_string();
    assert_ok(
        &echo_client(&["-u", "-b", "1048576", "127.0.0.1", &p]),
        "ok 1048576",
    );
    let p = host_udp_echo(true).to_string();
    assert_ok(
        &echo_client(&["-u", "-6", "-b", "65536", "::1", &p]),
        "ok 65536",
    );
}

#[test]
fn c_echo_client_gets_econnrefused_from_a_closed_port() {
    let p = closed_port().to_string();
    let out = echo_client(&["127.0.0.1", &p]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connect: ECONNREFUSED (61)")
            || String::from_utf8_lossy(&out.stdout).contains("connect: ECONNREFUSED (61)"),
        "{out:?}"
    );
    let out = echo_client(&["-6", "::1", &p]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

fn start_echo_server(args: &[&str]) -> (Daemon, u16) {
    start_echo_server_env(args, "sockin")
}

#[test]
fn c_echo_server_serves_host_clients_tcp_and_udp() {
    let (_d, port) = start_echo_server(&["0"]);
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let data: Vec<u8> = (0..(1 << 20)).map(|i: usize| (i * 7 + 3) as u8).collect();
    let writer = {
        let mut w = c.try_clone().unwrap();
        let d = data.clone();
        std::thread::spawn(move || {
            w.write_all(&d).unwrap();
            w.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back == data, "echo differs ({} bytes back)", back.len());

    let (_u, uport) = start_echo_server(&["-u", "0"]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..100u32 {
        let msg = format!("datagram {i}");
        s.send_to(msg.as_bytes(), ("127.0.0.1", uport)).unwrap();
        let mut b = [0u8; 64];
        let (n, _) = s.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], msg.as_bytes());
    }
}

/// The paper's measurement: ttcp, macro-wrapped (Figure 4), 1 GiB between two
/// processes, each with its own virtual kernel, over sockin.
#[test]
fn macro_wrapped_ttcp_moves_1gib_between_two_processes() {
    let port = closed_port().to_string();
    let mut r = Command::new(prog("examples-c/build/ttcp-rump"));
    r.env("RUMP_NET", "sockin")
        .args(["-r", "-s", "-c", "-p", &port])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut rchild = r.spawn().unwrap();
    let rerr = rchild.stderr.take().unwrap();
    let mut rd = BufReader::new(rerr);
    let mut line = String::new();
    rd.read_line(&mut line).unwrap();
    assert!(line.contains("ttcp-r"), "{line}");
    let receiver = Daemon(rchild);
    let mut t = Command::new(prog("examples-c/build/ttcp-rump"));
    t.env("RUMP_NET", "sockin").args([
        "-t",
        "-s",
        "-n",
        "131072",
        "-l",
        "8192",
        "-p",
        &port,
        "127.0.0.1",
    ]);
    // The receiver prints its header before listen(2): retry a refused connect briefly.
    let mut out = run_with_timeout(t, Duration::from_secs(120));
    for _ in 0..20 {
        if out.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut t = Command::new(prog("examples-c/build/ttcp-rump"));
        t.env("RUMP_NET", "sockin").args([
            "-t",
            "-s",
            "-n",
            "131072",
            "-l",
            "8192",
            "-p",
            &port,
            "127.0.0.1",
        ]);
        out = run_with_timeout(t, Duration::from_secs(120));
    }
    let terr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "transmitter failed:\n{terr}");
    assert!(terr.contains("ttcp-t: bytes=1073741824"), "{terr}");
    let mut rest = String::new();
    rd.read_to_string(&mut rest).unwrap();
    let mut receiver = receiver;
    let st = receiver.0.wait().unwrap();
    assert!(st.success(), "receiver failed:\n{rest}");
    assert!(rest.contains("ttcp-r: bytes=1073741824"), "{rest}");
    eprintln!(
        "{}",
        terr.lines()
            .filter(|l| l.contains("MB/sec"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The macro-wrapped ttcp between two kernels of one process (examples-c/ttcp_pair.c):
/// two threads, each bound to its own kernel, 64 MiB over the in-memory link with the
/// receiver checking the pattern. `make bench` moves the full 1 GiB.
#[test]
fn macro_wrapped_ttcp_moves_64mib_between_two_kernels_of_one_process() {
    let mut c = Command::new(prog("examples-c/build/ttcp_pair"));
    c.env_remove("RUMP_NET")
        .args(["-c", "-n", "8192", "-l", "8192"]);
    let out = run_with_timeout(c, Duration::from_secs(120));
    let so = String::from_utf8_lossy(&out.stdout);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && so.contains("ttcp_pair: ok"),
        "status {:?}\nstdout:\n{so}\nstderr:\n{se}",
        out.status
    );
    assert!(se.contains("ttcp-t: bytes=67108864 "), "{se}");
    assert!(se.contains("ttcp-r: bytes=67108864 "), "{se}");
    assert!(se.contains("ttcp-r: accept from 10.0.0.2:"), "{se}");
    eprintln!(
        "{}",
        se.lines()
            .filter(|l| l.contains("MB/sec"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// rump_pub_kernel_create/_bind/_current/_destroy from C: errno values, separation of
/// the kernels, and UDP between two of them over the in-memory link.
#[test]
fn c_kernels_errno_conformance() {
    let mut c = Command::new(prog("tests/c/build/kernels_test"));
    c.env_remove("RUMP_NET");
    let out = run_with_timeout(c, Duration::from_secs(60));
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{so}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(so.contains(" 0 failed"), "{so}");
}

#[test]
fn c_errno_conformance() {
    let mut c = Command::new(prog("tests/c/build/errno_test"));
    c.env("RUMP_NET", "sockin").arg(closed_port().to_string());
    let out = run_with_timeout(c, Duration::from_secs(30));
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{so}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(so.contains(" 0 failed"), "{so}");
}

#[test]
fn bad_rump_net_stops_rump_init_with_a_message() {
    let mut c = Command::new(prog("tests/c/build/errno_test"));
    c.env("RUMP_NET", "sockin; frobnicate 1").arg("1");
    let out = run_with_timeout(c, Duration::from_secs(30));
    assert!(!out.status.success());
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(
        se.contains("RUMP_NET") && se.contains("frobnicate 1"),
        "{se}"
    );
}

/// Figure 4: every call rumpmacro.h wraps, with host structs, constants and errno.
#[test]
fn c_figure4_macro_wrapped_calls() {
    let mut c = Command::new(prog("tests/c/build/macro_test"));
    c.env("RUMP_NET", "sockin").arg(closed_port().to_string());
    let out = run_with_timeout(c, Duration::from_secs(30));
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{so}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(so.contains(" 0 failed"), "{so}");
}

/// Run a program on the kernel's own stack (no `RUMP_NET`: lo0 only, the program
/// creates its interfaces), with space-separated arguments.
fn own_stack(rel: &str, args: &str) -> Output {
    let mut c = Command::new(prog(rel));
    c.env_remove("RUMP_NET").args(args.split_whitespace());
    run_with_timeout(c, Duration::from_secs(30))
}

/// The paper's Figure 5: SIOCAIFADDR on a configuration socket, a default route
/// written to a routing socket as route(8) does, everything read back (addresses,
/// flags, SIOCGIFCONF, RTM_GET through the gateway) and net.inet.ip.forwarding set
/// with __sysctl.
#[test]
fn c_figure5_configures_an_interface_and_reads_it_back() {
    let out = own_stack("examples-c/build/figure5", "");
    assert_ok(&out, "figure5: ok");
    let so = String::from_utf8_lossy(&out.stdout);
    for want in [
        "created mem0",
        "SIOCGIFADDR mem0: 10.0.2.15\n",
        "SIOCGIFBRDADDR mem0: 10.0.2.255\n",
        "SIOCGIFNETMASK mem0: 255.255.255.0\n",
        "SIOCGIFFLAGS mem0: 0x8043 UP RUNNING\n",
        "SIOCGIFCONF: 2 entries\n  lo0 127.0.0.1\n  mem0 10.0.2.15\n",
        "RTM_ADD default 10.0.2.2: done, reply of 160 bytes\n",
        "RTM_GET 198.51.100.1: gateway 10.0.2.2 interface mem0 flags 0x843\n",
        "net.inet.ip.forwarding: 0\nnet.inet.ip.forwarding: 0 -> 1\n",
    ] {
        assert!(so.contains(want), "missing {want:?} in:\n{so}");
    }
    let out = own_stack(
        "examples-c/build/figure5",
        "mem5 172.16.5.9 172.16.5.255 255.255.255.0 172.16.5.1",
    );
    assert_ok(
        &out,
        "RTM_GET 198.51.100.1: gateway 172.16.5.1 interface mem5",
    );
}

/// Figure 5's failures name the call and the NetBSD errno.
#[test]
fn c_figure5_names_the_failing_call_and_errno() {
    for (args, want) in [
        (
            "mem0 10.0.2.15 10.0.2.255 255.255.255.0 10.9.9.9",
            "RTM_ADD: ENETUNREACH (51)",
        ),
        (
            "foo0 10.0.2.15 10.0.2.255 255.255.255.0 10.0.2.2",
            "rump_pub_netconfig_ifcreate: ENXIO (6)",
        ),
        (
            "mem0 10.0.2.15 10.0.2.255 255.0.255.0 10.0.2.2",
            "SIOCAIFADDR: EINVAL (22)",
        ),
    ] {
        let out = own_stack("examples-c/build/figure5", args);
        let se = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(1) && se.contains(want),
            "{args}: status {:?}, stderr:\n{se}",
            out.status
        );
    }
}

/// Bad interface ioctls, routing messages, __sysctl names and netconfig arguments get
/// NetBSD's errno values.
#[test]
fn c_netconfig_errno_conformance() {
    let out = own_stack("tests/c/build/netconfig_test", "");
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{so}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(so.contains(" 0 failed"), "{so}");
}

/// A fresh directory for bus files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("rumpnet-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_echo_server_env(args: &[&str], net: &str) -> (Daemon, u16) {
    let mut c = Command::new(prog("examples-c/build/echo_server"));
    c.env("RUMP_NET", net)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    (Daemon(child), port)
}

/// The router of Figure 7 between buses `a` (10.0.1.1) and `b` (10.0.2.1), once ready.
fn start_router(a: &std::path::Path, b: &std::path::Path) -> Daemon {
    let mut r = Command::new(prog("examples-c/build/router"));
    r.env(
        "RUMP_NET",
        format!(
            "shmif {} 10.0.1.1/24; shmif {} 10.0.2.1/24; forward",
            a.display(),
            b.display()
        ),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let mut rchild = r.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(rchild.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "router ready");
    Daemon(rchild)
}

/// Two processes, each with its own kernel and IPv4 stack, on one shmif bus: the C echo
/// client and server over UDP through the kernels' own stacks.
#[test]
fn c_udp_echo_between_two_processes_on_a_shmif_bus() {
    let d = TempDir::new("shmif2");
    let bus = d.0.join("bus");
    let (_srv, port) = start_echo_server_env(
        &["-u", "7"],
        &format!("shmif {} 10.0.0.2/24", bus.display()),
    );
    let mut c = Command::new(prog("examples-c/build/echo_client"));
    c.env("RUMP_NET", format!("shmif {} 10.0.0.1/24", bus.display()))
        .args(["-u", "-b", "65536", "10.0.0.2", &port.to_string()]);
    let out = run_with_timeout(c, Duration::from_secs(60));
    assert_ok(&out, "ok 65536");
}

/// The paper's Figure 6/7 with processes: a router process between two buses, a UDP
/// echo server (port `port`) behind it at 10.0.2.2, and `client`, the `RUMP_NET` of a
/// host on the other side; each end has the router as its default gateway. The
/// processes are stopped (fields drop in order) before the folder goes.
struct Routed {
    _srv: Daemon,
    _router: Daemon,
    port: u16,
    client: String,
    _d: TempDir,
}

fn routed_echo(tag: &str) -> Routed {
    let d = TempDir::new(tag);
    let (a, b) = (d.0.join("a"), d.0.join("b"));
    let router = start_router(&a, &b);
    let (srv, port) = start_echo_server_env(
        &["-u", "7"],
        &format!("shmif {} 10.0.2.2/24; route default 10.0.2.1", b.display()),
    );
    let client = format!("shmif {} 10.0.1.2/24; route default 10.0.1.1", a.display());
    Routed {
        _srv: srv,
        _router: router,
        port,
        client,
        _d: d,
    }
}

#[test]
fn c_udp_echo_through_a_router_process() {
    let r = routed_echo("routed");
    let mut c = Command::new(prog("examples-c/build/echo_client"));
    c.env("RUMP_NET", &r.client)
        .args(["-u", "-b", "65536", "10.0.2.2", &r.port.to_string()]);
    let out = run_with_timeout(c, Duration::from_secs(60));
    assert_ok(&out, "ok 65536");
}

/// ICMP echo on a raw socket (`rping -p`) through the router process to a kernel behind
/// it, which answers by itself; an address nobody has gets no answer and a non-zero
/// exit status.
#[test]
fn c_raw_ping_through_a_router_process() {
    let r = routed_echo("rawping");
    let mut c = Command::new(prog("examples-c/build/rping"));
    c.env("RUMP_NET", &r.client)
        .args(["-p", "-c", "20", "10.0.2.2"]);
    let out = run_with_timeout(c, Duration::from_secs(60));
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{so}");
    assert!(
        so.contains("20 messages sent, 20 echoed, 0.0% lost"),
        "{so}"
    );
    let mut c = Command::new(prog("examples-c/build/rping"));
    c.env("RUMP_NET", &r.client)
        .args(["-p", "-c", "2", "10.0.2.99"]);
    let out = run_with_timeout(c, Duration::from_secs(60));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 messages sent, 0 echoed"));
}

/// 256 MiB of TCP through a router process with 2% loss and reordering on the
/// receiver's bus: ttcp's pattern check (-c) proves the stream arrives byte-identical.
#[test]
fn c_ttcp_tcp_through_a_router_over_a_lossy_bus() {
    let d = TempDir::new("lossytcp");
    let (a, b) = (d.0.join("a"), d.0.join("b"));
    let _router = start_router(&a, &b);
    let mut rx = Command::new(prog("examples-c/build/ttcp-rump"));
    rx.env(
        "RUMP_NET",
        format!(
            "shmif {} 10.0.2.2/24 loss 0.02 reorder 0.02 seed 7; route default 10.0.2.1",
            b.display()
        ),
    )
    .args(["-r", "-s", "-c", "-p", "5001"])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut rchild = rx.spawn().unwrap();
    let mut rerr = BufReader::new(rchild.stderr.take().unwrap());
    let mut first = String::new();
    rerr.read_line(&mut first).unwrap();
    let receiver = Daemon(rchild);
    std::thread::sleep(Duration::from_millis(200));
    let mut tx = Command::new(prog("examples-c/build/ttcp-rump"));
    tx.env(
        "RUMP_NET",
        format!("shmif {} 10.0.1.2/24; route default 10.0.1.1", a.display()),
    )
    .args([
        "-t", "-s", "-n", "32768", "-l", "8192", "-p", "5001", "10.0.2.2",
    ]);
    let out = run_with_timeout(tx, Duration::from_secs(240));
    let terr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{terr}");
    let mut rest = String::new();
    rerr.read_to_string(&mut rest).unwrap();
    let mut receiver = receiver;
    let st = receiver.0.wait().unwrap();
    assert!(st.success(), "receiver (pattern check) failed:\n{rest}");
    assert!(rest.contains("ttcp-r: bytes=268435456"), "{rest}");
    eprintln!(
        "{}",
        rest.lines()
            .filter(|l| l.contains("MB/sec"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
