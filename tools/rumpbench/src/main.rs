//! `make bench`: throughput and latency of rumpnet and of the Linux kernel, measured in
//! one run on this machine, printed side by side with their ratios.
//!
//! - UDP round trip: Linux over loopback vs two rump kernels (own stack) on the
//!   in-memory Ethernet link, one thread per kernel, blocking calls.
//! - TCP bulk: Linux over loopback vs sockin (two virtual kernels over host sockets)
//!   and vs the kernels' own TCP between two kernels on the in-memory link, from Rust
//!   and from C: the macro-wrapped ttcp of examples-c run by `ttcp_pair` in two threads
//!   bound to two kernels of one process (`make examples` builds it).
//!
//! - Networks of processes (`netproc`): rump processes on shmif buses, on a tap and
//!   through the router, beside Linux over a veth pair between two network namespaces.
//!
//! `RUMPBENCH_QUICK=1` shortens every run (for a smoke check).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use rump::abi::netbsd as nb;
use rump::config::{IfOptions, NetConfig};
use rump::drivers::memlink::{memlink_attach, MemLink};
use rump::kern::kernel::BootOptions;
use rump::kern::sockaddr::SockAddr;
use rump::Kernel;

mod netproc;
mod procs;

fn quick() -> bool {
    std::env::var_os("RUMPBENCH_QUICK").is_some()
}

/// Round-trip statistics in microseconds: (median, mean, p99).
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v[v.len() / 2], mean, v[v.len() * 99 / 100])
}

fn linux_udp_rtt(n: usize) -> Vec<f64> {
    let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = srv.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let mut b = [0u8; 64];
        for _ in 0..n {
            let (len, from) = srv.recv_from(&mut b).unwrap();
            srv.send_to(&b[..len], from).unwrap();
        }
    });
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut b = [0u8; 64];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        c.send_to(&(i as u64).to_ne_bytes(), addr).unwrap();
        c.recv_from(&mut b).unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    echo.join().unwrap();
    out
}

fn rump_udp_rtt(n: usize) -> Vec<f64> {
    let link = MemLink::new();
    let ks: Vec<Arc<Kernel>> = (0..2)
        .map(|_| Arc::new(Kernel::boot(BootOptions::default()).unwrap()))
        .collect();
    for (i, k) in ks.iter().enumerate() {
        let idx = memlink_attach(k, &link, &IfOptions::default()).unwrap();
        k.lock()
            .in_addr_add(idx, Ipv4Addr::new(10, 0, 0, i as u8 + 1), 24, None)
            .unwrap();
    }
    let sa = |a: [u8; 4], p: u16| SockAddr::Inet(SocketAddr::from((a, p)));
    let b = ks[1].clone();
    let srv = b.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    b.bind(srv, &sa([0, 0, 0, 0], 7)).unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..n + 1 {
            let r = b.recvmsg(srv, &mut [&mut buf], 0).unwrap();
            b.sendmsg(srv, &[&buf[..r.len]], r.from.as_ref(), 0)
                .unwrap();
        }
    });
    let a = &ks[0];
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    let to = sa([10, 0, 0, 2], 7);
    let mut buf = [0u8; 64];
    // The first exchange resolves ARP.
    a.sendmsg(c, &[b"warm"], Some(&to), 0).unwrap();
    a.recvmsg(c, &mut [&mut buf], 0).unwrap();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        a.sendmsg(c, &[&(i as u64).to_ne_bytes()], Some(&to), 0)
            .unwrap();
        a.recvmsg(c, &mut [&mut buf], 0).unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    echo.join().unwrap();
    out
}

fn linux_tcp_bulk(bytes: usize) -> f64 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let rx = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut b = vec![0u8; 65536];
        let mut got = 0;
        while got < bytes {
            got += s.read(&mut b).unwrap();
        }
    });
    let mut s = TcpStream::connect(addr).unwrap();
    let b = vec![0x5au8; 8192];
    let t = Instant::now();
    let mut sent = 0;
    while sent < bytes {
        s.write_all(&b).unwrap();
        sent += b.len();
    }
    rx.join().unwrap();
    bytes as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn sockin_tcp_bulk(bytes: usize) -> f64 {
    let boot = || {
        Arc::new(
            Kernel::boot(BootOptions {
                net: NetConfig::parse("sockin").unwrap(),
                ..BootOptions::default()
            })
            .unwrap(),
        )
    };
    let (ka, kb) = (boot(), boot());
    let l = kb
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0)
        .unwrap();
    kb.bind(l, &SockAddr::Inet("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    kb.listen(l, 1).unwrap();
    let to = kb.getsockname(l).unwrap();
    let kb2 = kb.clone();
    let rx = std::thread::spawn(move || {
        let (s, _) = kb2.accept(l, None).unwrap();
        let mut b = vec![0u8; 65536];
        let mut got = 0;
        while got < bytes {
            got += kb2.read(s, &mut b).unwrap();
        }
    });
    let s = ka
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0)
        .unwrap();
    ka.connect(s, &to).unwrap();
    let b = vec![0x5au8; 8192];
    let t = Instant::now();
    let mut sent = 0;
    while sent < bytes {
        sent += ka.write(s, &b).unwrap();
    }
    rx.join().unwrap();
    bytes as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// Two own-stack kernels on the in-memory link, addresses 10.0.0.1 and 10.0.0.2.
fn memlink_pair() -> Vec<Arc<Kernel>> {
    let link = MemLink::new();
    let ks: Vec<Arc<Kernel>> = (0..2)
        .map(|_| Arc::new(Kernel::boot(BootOptions::default()).unwrap()))
        .collect();
    for (i, k) in ks.iter().enumerate() {
        let idx = memlink_attach(k, &link, &IfOptions::default()).unwrap();
        k.lock()
            .in_addr_add(idx, Ipv4Addr::new(10, 0, 0, i as u8 + 1), 24, None)
            .unwrap();
    }
    ks
}

fn own_tcp_bulk(bytes: usize) -> f64 {
    let ks = memlink_pair();
    let kb = ks[1].clone();
    let l = kb
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0)
        .unwrap();
    let buf = (1i32 << 20).to_ne_bytes();
    kb.setsockopt(l, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_RCVBUF, &buf)
        .unwrap();
    kb.bind(l, &SockAddr::Inet(SocketAddr::from(([0, 0, 0, 0], 5001))))
        .unwrap();
    kb.listen(l, 1).unwrap();
    let rx = std::thread::spawn(move || {
        let (s, _) = kb.accept(l, None).unwrap();
        let mut b = vec![0u8; 65536];
        let mut got = 0;
        while got < bytes {
            match kb.read(s, &mut b).unwrap() {
                0 => break,
                n => got += n,
            }
        }
        got
    });
    let ka = &ks[0];
    let s = ka
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0)
        .unwrap();
    ka.setsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_SNDBUF, &buf)
        .unwrap();
    ka.connect(s, &SockAddr::Inet(SocketAddr::from(([10, 0, 0, 2], 5001))))
        .unwrap();
    let b = vec![0x5au8; 8192];
    let t = Instant::now();
    let mut sent = 0;
    while sent < bytes {
        sent += ka.write(s, &b).unwrap();
    }
    let got = rx.join().unwrap();
    assert_eq!(got, bytes);
    bytes as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// `examples-c/build/ttcp_pair` moving `bytes` in 8 KiB writes: MB/s (10^6 bytes) from
/// the receiver's machine-readable line, or why there is no number.
fn c_ttcp_pair(bytes: usize) -> Result<f64, String> {
    let prog = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples-c/build/ttcp_pair");
    if !prog.exists() {
        return Err(format!("{} missing: run make examples", prog.display()));
    }
    let out = Command::new(&prog)
        .env_remove("RUMP_NET")
        .args(["-n", &(bytes / 8192).to_string(), "-l", "8192"])
        .output()
        .map_err(|e| format!("{}: {e}", prog.display()))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let mbps = err
        .lines()
        .filter(|l| l.starts_with("ttcp-r: bytes="))
        .find_map(|l| l.rsplit_once("MBps=")?.1.trim().parse::<f64>().ok());
    match (out.status.success(), mbps) {
        // ttcp's MB is 2^20 bytes.
        (true, Some(m)) => Ok(m * 1048576.0 / 1e6),
        _ => Err(format!("ttcp_pair failed ({}):\n{err}", out.status)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = procs::helper_mode(&args) {
        std::process::exit(code);
    }
    let n = if quick() { 2000 } else { 20_000 };
    let bytes = if quick() { 64 << 20 } else { 1 << 30 };
    println!(
        "rumpnet bench ({} CPUs; one run, same machine)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    let (lm, la, lp) = stats(linux_udp_rtt(n));
    let (rm, ra, rp) = stats(rump_udp_rtt(n));
    println!("UDP round trip, {n} x 8 bytes, microseconds (median / mean / p99)");
    println!("  linux loopback        {lm:8.1} {la:8.1} {lp:8.1}");
    println!("  rump memlink (own)    {rm:8.1} {ra:8.1} {rp:8.1}");
    println!(
        "  ratio rump/linux      {:8.2}x (median; lower is better)",
        rm / lm
    );
    println!();
    let lt = linux_tcp_bulk(bytes);
    let st = sockin_tcp_bulk(bytes);
    println!("TCP bulk, {} MiB in 8 KiB writes, MB/s", bytes >> 20);
    println!("  linux loopback        {lt:8.0}");
    println!("  rump sockin           {st:8.0}");
    println!(
        "  ratio sockin/linux    {:8.2}x (higher is better)",
        st / lt
    );
    let ot = own_tcp_bulk(bytes);
    println!("  rump own TCP, memlink {ot:8.0}");
    println!(
        "  ratio own/linux       {:8.2}x (higher is better; issue 4's target is 1.0x)",
        ot / lt
    );
    match c_ttcp_pair(bytes) {
        Ok(ct) => {
            println!(
                "  rump ttcp_pair (C)    {ct:8.0}   (Figure 4 ttcp, two kernels, one process)"
            );
            println!(
                "  ratio ttcp_pair/linux {:8.2}x (higher is better)",
                ct / lt
            );
        }
        Err(e) => println!("  rump ttcp_pair (C)    skipped: {e}"),
    }
    println!();
    if let Err(e) = netproc::run(quick()) {
        println!("networks of processes: FAILED: {e}");
        std::process::exit(1);
    }
}
