//! shmif_dumpbus against real buses: two kernels exchange ARP and UDP over a bus in a
//! fresh temporary directory, and the tool's pcap must open in tcpdump.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rump::abi::netbsd as nb;
use rump::config::IfOptions;
use rump::drivers::shmif::shmif_attach;
use rump::kern::mbuf::{MbufChain, MAX_HDR};
use rump::kern::sockaddr::SockAddr;
use rump::wire::pcap::PcapReader;
use rump::Kernel;

const BIN: &str = env!("CARGO_BIN_EXE_shmif_dumpbus");

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("rumpnet-dumpbus-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dumpbus(args: &[&str], bus: &Path) -> Output {
    Command::new(BIN).args(args).arg(bus).output().unwrap()
}

fn sin(a: [u8; 4], port: u16) -> SockAddr {
    SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port)))
}

/// Two kernels on `bus`, 10.0.5.1 and 10.0.5.2; one datagram from the first to the
/// second (an ARP exchange first); returns once it arrived.
fn two_kernels_talk(bus: &Path) -> (Kernel, Kernel) {
    let (a, b) = (
        Kernel::boot(Default::default()).unwrap(),
        Kernel::boot(Default::default()).unwrap(),
    );
    let ia = shmif_attach(&a, bus, &IfOptions::default()).unwrap();
    let ib = shmif_attach(&b, bus, &IfOptions::default()).unwrap();
    a.lock()
        .in_addr_add(ia, Ipv4Addr::new(10, 0, 5, 1), 24, None)
        .unwrap();
    b.lock()
        .in_addr_add(ib, Ipv4Addr::new(10, 0, 5, 2), 24, None)
        .unwrap();
    let s = b.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    b.bind(s, &sin([0, 0, 0, 0], 7)).unwrap();
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    a.sendmsg(c, &[b"hello, bus"], Some(&sin([10, 0, 5, 2], 7)), 0)
        .unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match b.recvmsg(s, &mut [&mut buf], nb::RUMP_MSG_DONTWAIT) {
            Ok(r) => {
                assert_eq!(&buf[..r.len], b"hello, bus");
                break;
            }
            Err(_) => {
                assert!(
                    t.elapsed() < Duration::from_secs(5),
                    "the datagram never came"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    (a, b)
}

fn tcpdump(pcap_args: &[&str], stdin: Option<&[u8]>) -> Option<String> {
    let mut cmd = Command::new("tcpdump");
    cmd.args(["-nn", "-r"]).args(pcap_args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(_) => {
            eprintln!(
                "SKIPPED: tcpdump is not installed; the pcap was checked by our own reader only"
            );
            return None;
        }
    };
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tcpdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check_arp_exchange(text: &str) {
    assert!(
        text.contains("ARP, Request who-has 10.0.5.2 tell 10.0.5.1"),
        "{text}"
    );
    assert!(
        text.contains("ARP, Reply 10.0.5.2 is-at 02:73:68:"),
        "{text}"
    );
    assert!(
        text.contains("10.0.5.1.") && text.contains("> 10.0.5.2.7: UDP, length 10"),
        "{text}"
    );
}

#[test]
fn the_dump_opens_in_tcpdump_and_lists_the_arp_exchange() {
    let d = TempDir::new("arp");
    let bus = d.0.join("bus");
    let _ks = two_kernels_talk(&bus);
    // To a file.
    let pcap = d.0.join("bus.pcap");
    let out = dumpbus(&["-p", pcap.to_str().unwrap()], &bus);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames: Vec<_> = PcapReader::new(std::fs::File::open(&pcap).unwrap())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // Two gratuitous ARPs, the request, the reply, the datagram.
    assert!(frames.len() >= 5, "{} frames", frames.len());
    let ethertypes: Vec<[u8; 2]> = frames.iter().map(|(_, f)| [f[12], f[13]]).collect();
    assert!(ethertypes.iter().filter(|t| **t == [8, 6]).count() >= 4);
    // Stamped with the wall clock.
    assert!(frames.iter().all(|(ts, _)| ts.as_secs() > 1_600_000_000));
    if let Some(text) = tcpdump(&[pcap.to_str().unwrap()], None) {
        check_arp_exchange(&text);
    }
    // To standard output, into tcpdump's standard input.
    let out = dumpbus(&["-p", "-"], &bus);
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&pcap).unwrap());
    if let Some(text) = tcpdump(&["-"], Some(&out.stdout)) {
        check_arp_exchange(&text);
    }
    // Without -p: the header and a line per frame.
    let out = dumpbus(&[], &bus);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("format version 2, ring 1048576 bytes"),
        "{text}"
    );
    assert!(text.contains("lock free"), "{text}");
    assert!(
        text.contains(&format!("pid {} (2 if)", std::process::id())),
        "{text}"
    );
    assert!(text.contains("-> ff:ff:ff:ff:ff:ff  0x0806"), "{text}");
    assert!(text.lines().count() >= 5 + frames.len());
}

#[test]
fn files_that_are_not_buses_are_refused_with_a_message() {
    let d = TempDir::new("refuse");
    let text = d.0.join("text");
    std::fs::write(&text, "this is not a bus, it is a text file\n").unwrap();
    let out = dumpbus(&["-p", "-"], &text);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "wrote output for a non-bus");
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("not a shmif bus: bad magic number"), "{msg}");
    // Truncated: a real bus cut short.
    let bus = d.0.join("bus");
    drop(rump::drivers::shmif::Bus::open(&bus).unwrap());
    let f = std::fs::OpenOptions::new().write(true).open(&bus).unwrap();
    f.set_len(10_000).unwrap();
    let out = dumpbus(&[], &bus);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    // Missing: not created.
    let missing = d.0.join("missing");
    let out = dumpbus(&[], &missing);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such file"));
    assert!(!missing.exists());
    // Usage.
    let out = Command::new(BIN).arg("-x").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: shmif_dumpbus"));
}

#[test]
fn follow_streams_new_frames_and_ends_when_the_writers_are_gone() {
    let d = TempDir::new("follow");
    let bus = d.0.join("bus");
    let (a, b) = two_kernels_talk(&bus);
    let before = PcapReader::new(&dumpbus(&["-p", "-"], &bus).stdout[..])
        .unwrap()
        .count();
    let t0 = Instant::now();
    let child = Command::new(BIN)
        .args(["-f", "-p", "-"])
        .arg(&bus)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // New frames while it follows, the last of them a little later.
    std::thread::sleep(Duration::from_millis(100));
    let ia = a.lock().ifunit("shmif0").unwrap();
    for n in 0..20u8 {
        let mut f = vec![0xffu8; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x88, 0xb5, n]);
        f.resize(60, n);
        let mut g = a.lock();
        let m = MbufChain::from_slice(&g.pool, &f, MAX_HDR).unwrap();
        g.if_transmit(ia, m).unwrap();
        drop(g);
        if n == 10 {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    // The writers leave; the follower notices within a second or two.
    drop((a, b));
    let left = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = left.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < Duration::from_secs(5),
        "the follower took {took:?} to stop"
    );
    let frames: Vec<_> = PcapReader::new(&out.stdout[..])
        .unwrap()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(frames.len(), before + 20);
    let tail: Vec<u8> = frames[before..].iter().map(|f| f[14]).collect();
    assert_eq!(tail, (0..20).collect::<Vec<u8>>());
    eprintln!(
        "followed {} frames; stopped {took:?} after the writers left ({:?} in all)",
        frames.len(),
        t0.elapsed()
    );
}
